"""Ed25519 release keys (RFC 8032, via the ``cryptography`` library): make a pair, sign a release root, check it.

``NAME`` holds the private key (PKCS#8 PEM, unencrypted, file mode 0600) and ``NAME.pub`` the public key
(SubjectPublicKeyInfo PEM). A key's **fingerprint** is the SHA-256 of its 32 raw public-key bytes, in
hex: the publisher announces it once (it stays the same for every release), readers compare it.

What is signed is the release root (see :mod:`voteaudit.publish.manifest`), as the ASCII bytes
``voteaudit-release/2 root <64 hex>``: the root commits to the manifest and so to every file and record.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from voteaudit.model import VoteauditError

ALGORITHM = "Ed25519"


def signed_message(root: str) -> bytes:
    """The bytes a release signature covers."""
    return f"voteaudit-release/2 root {root}".encode("ascii")


def fingerprint(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    raw: bytes   # 32 bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    def verify(self, root: str, signature: bytes) -> bool:
        """Is ``signature`` this key's Ed25519 signature of release root ``root``?"""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, signed_message(root))
        except (InvalidSignature, ValueError):
            return False
        return True


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def new_key_pair(path: Path) -> PublicKey:
    """Write a new private key to ``path`` (mode 0600, refused if it exists) and its public key to ``path.pub``."""
    path = Path(path)
    pub_path = path.with_name(path.name + ".pub")
    for p in (path, pub_path):
        if p.exists() or p.is_symlink():
            raise VoteauditError(f"{p} exists: choose another name (a key is never overwritten)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)   # whatever the umask
    pub = key.public_key()
    pub_path.write_bytes(pub.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return PublicKey(_raw(pub))


class SigningKey:
    """A private key loaded from a file written by :func:`new_key_pair`."""

    def __init__(self, path: Path) -> None:
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise VoteauditError(f"{path} is not a readable unencrypted PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise VoteauditError(f"{path} is not an Ed25519 private key")
        self._key = key
        self.public = PublicKey(_raw(key.public_key()))

    def sign(self, root: str) -> bytes:
        return self._key.sign(signed_message(root))


def load_public(path: Path) -> PublicKey:
    """A public key from ``NAME.pub`` (PEM); a private key file is refused, so it is not handed around."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise VoteauditError(f"cannot read public key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" in data:
        raise VoteauditError(f"{path} is a private key: give the public key (NAME.pub)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise VoteauditError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VoteauditError(f"{path} is not an Ed25519 public key")
    return PublicKey(_raw(key))
