"""``voteaudit publish``, ``voteaudit verify`` and ``voteaudit keys``: the static, tamper-evident, signed release."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voteaudit.cli.app import app
from voteaudit.cli.common import (
    DEFAULT_DB,
    ContestOpt,
    DbOpt,
    JsonOpt,
    emit,
    err,
    handle_errors,
    out,
    progress,
    store_at,
)

if TYPE_CHECKING:
    from voteaudit.publish.verify import VerifyResult


@app.command("publish")
@handle_errors
def publish_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the site: empty, or an earlier publication.")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    title: Annotated[str, typer.Option("--title", help="Title of the site and the report.")] = "Election results",
    shard_size: Annotated[int, typer.Option("--shard-size", help="Records per tables/ file (a power of two).")] = 256,
    sheets: Annotated[Path | None, typer.Option(
        "--sheets", help="CSV (.gz ok) linking tables to tally-sheet images: key columns + a URL/path column.")] = None,
    sheets_unit: Annotated[list[str] | None, typer.Option(
        "--sheets-unit", help="Key column of --sheets, outermost first, as for ingest --unit (default: 'unit', "
                              "a column of voteaudit unit ids).")] = None,
    sheets_url: Annotated[str, typer.Option("--sheets-url", help="Column of --sheets with the image.")] = "sheet_url",
    sheets_source: Annotated[str | None, typer.Option(
        "--sheets-source", help="Attach the sheets to this source's records only (default: every source).")] = None,
    election_date: Annotated[str | None, typer.Option(
        "--election-date", help="YYYY-MM-DD, for the NIST CDF export (default: today).")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Leave out report.html and summary.json.")] = False,
    nist: Annotated[bool | None, typer.Option(
        "--nist/--no-nist", help="Export every source as NIST SP 1500-100 CDF JSON (default: sources of at most "
                                 "2,000,000 tables; ~10 s and ~70 MB gzipped per million tables).")] = None,
    sign: Annotated[Path | None, typer.Option(
        "--sign", help="Sign the release root with this Ed25519 private key (from `voteaudit keys new`).")] = None,
    contest: ContestOpt = None,
) -> None:
    """Publish a static, tamper-evident site of every tally record, for any web server, CDN or disk.

    DIR gets a look-up page (find a table by code or place: `table.html#UNIT_ID` shows every source's
    numbers, the disagreements, the tally-sheet link and a Merkle inclusion proof), the report, bulk
    data (CSV, Parquet, NIST SP 1500-100 CDF JSON), `verify.html`, and `manifest.json` with the
    sha256 of every file and record and the records' Merkle root (RFC 9162). The release root printed
    at the end commits to every file and record: announce it (or sign with `--sign KEY` and announce
    the key's fingerprint once) where it cannot be silently edited; anyone can then run
    `voteaudit verify DIR --root ROOT` or `--key KEY.pub`. DIR is replaced atomically: the earlier
    publication stays in place until the new one is complete.

    Above 250,000 records the report leaves out estimation and forensics (run `voteaudit estimate` and
    `voteaudit forensics` for those); sources above 2,000,000 tables get the NIST export only with --nist.

    Example: `voteaudit publish --out site --title "General election 2024" --sheets actas.csv
    --sheets-unit state --sheets-unit centre --sheets-unit table --sheets-url sheet_url`
    """
    from voteaudit.publish.keys import SigningKey
    from voteaudit.publish.site import publish, sheets_from_csv

    key = SigningKey(sign) if sign is not None else None
    links = None
    if sheets is not None:
        links = sheets_from_csv(sheets, units=list(sheets_unit) if sheets_unit else None, url=sheets_url,
                                source=sheets_source)
    with progress(as_json) as step, store_at(db, read_only=True) as store:
        doc = publish(store, out_dir, step=step, title=title, shard_size=shard_size, sheets=links,
                      report=not no_report, election_date=election_date, nist=nist, sign=key, contest=contest)
    if as_json:
        emit(doc)
        return
    out.print(f"Published {doc['records']:,} records in {doc['files']:,} files ({doc['bytes'] / 1e6:,.1f} MB) "
              f"to {out_dir}.")
    if doc["nist_skipped"]:
        out.print(f"No NIST CDF export of {', '.join(doc['nist_skipped'])} (large; ask for it with --nist).",
                  markup=False)
    out.print(f"Release root: {doc['root']}", soft_wrap=True)
    if doc["key_fingerprint"]:
        out.print(f"Signed by key {doc['key_fingerprint']}", soft_wrap=True)
    out.print("Announce the release root (or your key's fingerprint) where it cannot be silently edited; check a "
              "copy with `voteaudit verify DIR --root ROOT` (or `--key KEY.pub`).")


@app.command("verify")
@handle_errors
def verify_command(
    site: Annotated[Path, typer.Argument(help="A directory written by `voteaudit publish`.")],
    record: Annotated[str | None, typer.Option(
        "--record", help="Check only this table's records (unit id) with their Merkle inclusion proofs.")] = None,
    root: Annotated[str | None, typer.Option(
        "--root", help="The release root the publisher announced (recomputed here, never read from the site).")]
    = None,
    key: Annotated[Path | None, typer.Option(
        "--key", help="The publisher's public key (NAME.pub): the release must carry its valid signature.")] = None,
    expect: Annotated[str | None, typer.Option(
        "--expect", help="The sha256 of manifest.json the publisher announced.")] = None,
    as_json: JsonOpt = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Verify a publication: recompute every file's sha256, every record's hash and the release root.

    Names exactly which files and records were changed, added or removed; exit code 1 when anything
    fails. Only `--root` (the announced release root) or `--key` (the publisher's public key) proves
    the copy is the publisher's: without them the check is internal consistency only, and the root
    and key fingerprint to compare with the announcement are printed. `--record UNIT_ID` checks one
    table's inclusion proofs only (what a voter's browser does). `--db` is accepted and not used.
    """
    from voteaudit.publish.keys import load_public
    from voteaudit.publish.verify import verify

    del db
    pub = load_public(key) if key is not None else None
    res = verify(site, record=record, root=root, expect=expect, key=pub)
    if as_json:
        emit(res.to_dict())
    else:
        what = f"table {record}" if record else f"{res.files_checked:,} files and {res.records_checked:,} records"
        if res.ok:
            for line in verdict(res, what):
                out.print(line, markup=False, soft_wrap=True)   # hex digests stay whole, for copying
        else:
            err.print(f"FAILED: {site} differs from its manifest.", markup=False)
            for label, items in (("file changed", res.changed), ("file added", res.added),
                                 ("file removed", res.removed), ("record changed", res.records_changed),
                                 ("record added", res.records_added), ("record removed", res.records_removed),
                                 ("problem", res.problems)):
                for item in items[:50]:
                    err.print(f"  {label}: {item}", markup=False, soft_wrap=True)
                if len(items) > 50:
                    err.print(f"  ... and {len(items) - 50:,} more ({label})", markup=False)
    if not res.ok:
        raise typer.Exit(1)


def verdict(res: VerifyResult, what: str) -> list[str]:
    """What a successful check proved, and against which anchor."""
    key = f"key {res.key_fingerprint}" if res.key_fingerprint else None
    if res.anchor == "root":
        return [f"OK: {what} match the release root {res.root} you gave."]
    if res.anchor:
        return [f"OK: {what} match the release, signed by the {key} you gave; release root {res.root}."]
    return [f"Consistent (internal consistency only): {what} match this site's own manifest, and that is all "
            "this proves (whoever altered the site could have recomputed every hash).",
            f"To authenticate it, compare the release root {res.root}"
            + (f" or the signing {key}" if key else "") + " with what the publisher announced, or run "
            "`voteaudit verify DIR --root ROOT` / `--key KEY.pub`."]


keys_app = typer.Typer(help="Ed25519 keys for signing releases (`publish --sign`).", no_args_is_help=True)


@keys_app.command("new")
@handle_errors
def keys_new_command(
    out_path: Annotated[Path, typer.Option("--out", help="NAME: the private key (mode 0600); NAME.pub the public.")],
    as_json: JsonOpt = False,
) -> None:
    """Make an Ed25519 key pair for `publish --sign NAME`; readers check with `verify --key NAME.pub`.

    Keep NAME secret and off the publication server if you can; announce the fingerprint once (it
    stays the same for every release you sign). An existing file is never overwritten.
    """
    from voteaudit.publish.keys import new_key_pair

    pub = new_key_pair(out_path)
    doc = {"private_key": str(out_path), "public_key": f"{out_path}.pub", "fingerprint": pub.fingerprint}
    if as_json:
        emit(doc)
        return
    out.print(f"Wrote {out_path} (private, mode 0600) and {out_path}.pub.", markup=False)
    out.print(f"Key fingerprint: {pub.fingerprint}", soft_wrap=True)


app.add_typer(keys_app, name="keys")
