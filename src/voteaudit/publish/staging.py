"""Publishing atomically: the site is written into a new sibling directory and swapped in by rename.

    OUT/                          the site readers see: the old one until the swap, the new one after
    .OUT.voteaudit-<random>/      the release being written (after the swap: the old release, being removed)
    .OUT.voteaudit-<random>.pid   its stamp: pid and host of the run that owns it

:func:`check_target` refuses an ``OUT`` that is a symbolic link, holds one anywhere, or holds anything
an earlier publication's manifest does not list (so nobody's files are lost); nothing in ``OUT`` is
ever deleted file by file and no link is ever followed. :func:`swap` exchanges the two directories in
one ``renameat2(RENAME_EXCHANGE)`` on Linux (elsewhere: two renames, the old site moved aside first)
and then removes the old release, which now sits in the staging directory. A run killed at any point
leaves ``OUT`` as it was plus a staging directory, which the next run removes (:func:`clean_stale`: only
directories with our prefix and a stamp naming a process of this host that no longer runs).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import secrets
import shutil
import socket
from pathlib import Path

from voteaudit.model import VoteauditError

STAMP = ".pid"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _prefix(out: Path) -> str:
    return f".{out.name}.voteaudit-"


def _listed(manifest: Path) -> set[str] | None:
    """The paths an earlier publication's manifest lists (with its own files), or None if it is not one."""
    from voteaudit.publish.manifest import FORMATS, OWN

    try:
        if manifest.is_symlink():
            return None
        old = json.loads(manifest.read_text(encoding="utf-8"))
        if not isinstance(old, dict) or old.get("format") not in FORMATS or not isinstance(old.get("files"), dict):
            return None
        return set(old["files"]) | set(OWN)
    except (OSError, ValueError):
        return None


def check_target(out: Path) -> None:
    """``out`` may be new, an empty directory or an earlier publication holding only the files it lists."""
    if out.is_symlink():
        raise VoteauditError(f"{out} is a symbolic link: give the real directory (publish never follows links)")
    if not out.exists():
        return
    if not out.is_dir():
        raise VoteauditError(f"{out} exists and is not a directory")
    if not any(out.iterdir()):
        return
    listed = _listed(out / "manifest.json")
    if listed is None:
        raise VoteauditError(f"{out} is not empty and holds no earlier publication (manifest.json): "
                             "choose an empty directory")
    extra, links = [], []
    for dirpath, dirnames, filenames in os.walk(out):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(out).as_posix()
            if p.is_symlink():
                links.append(rel)
            elif name in filenames and rel not in listed:
                extra.append(rel)
    if links:
        raise VoteauditError(f"{out} holds symbolic links ({', '.join(sorted(links)[:5])}), which no publication "
                             "has: publish never follows or replaces them; remove them or choose another directory")
    if extra:
        raise VoteauditError(f"{out} holds files that are not part of the earlier publication "
                             f"({', '.join(sorted(extra)[:5])}): move them or choose an empty directory")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stamp(p: Path) -> Path:
    return p.with_name(p.name + STAMP)


def _write_stamp(p: Path) -> None:
    _stamp(p).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}), encoding="utf-8")


def _remove(p: Path) -> None:
    """Remove a directory of ours and then its stamp (never following a link)."""
    if p.is_symlink():
        p.unlink()
    elif p.exists():
        shutil.rmtree(p)
    _stamp(p).unlink(missing_ok=True)


def clean_stale(out: Path) -> list[Path]:
    """Remove staging directories of ``out`` left by killed runs of this host; return them."""
    parent = out.parent
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    host = socket.gethostname()
    for stamp in parent.iterdir():
        if not (stamp.name.startswith(_prefix(out)) and stamp.name.endswith(STAMP)) or not stamp.is_file():
            continue
        try:
            doc = json.loads(stamp.read_text(encoding="utf-8"))
            pid, stamp_host = int(doc["pid"]), str(doc["host"])
        except (OSError, ValueError, KeyError, TypeError):
            continue   # not ours (or not finished being written): leave it
        if stamp_host == host and not _alive(pid):
            p = stamp.with_name(stamp.name[:-len(STAMP)])
            _remove(p)
            removed.append(p)
    return removed


def make_staging(out: Path) -> Path:
    """A new empty staging directory beside ``out``, stamped with this process."""
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tmp = out.parent / f"{_prefix(out)}{secrets.token_hex(6)}"
    _write_stamp(tmp)
    tmp.mkdir()
    return tmp


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False where the call is unavailable."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):   # EINVAL, ENOSYS, EOPNOTSUPP: file system or kernel without exchange
        return False
    raise OSError(errno, os.strerror(errno), str(b))


def swap(staging: Path, out: Path) -> None:
    """Make ``staging`` the directory ``out``; the old ``out`` is removed only afterwards."""
    check_target(out)   # nothing appeared while we wrote
    if not out.exists():
        staging.rename(out)
        _stamp(staging).unlink()
        return
    if not any(out.iterdir()):
        out.rmdir()
        staging.rename(out)
        _stamp(staging).unlink()
        return
    if _exchange(staging, out):
        _remove(staging)   # now the old release
        return
    aside = out.parent / f"{_prefix(out)}old-{secrets.token_hex(6)}"
    _write_stamp(aside)
    out.rename(aside)
    staging.rename(out)
    _stamp(staging).unlink()
    _remove(aside)


def discard(staging: Path) -> None:
    """Remove a staging directory after a failed run."""
    with contextlib.suppress(OSError):
        _remove(staging)
