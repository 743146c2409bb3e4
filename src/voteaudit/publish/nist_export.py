"""One source as a NIST SP 1500-100 (v2) Election Results CDF JSON report (valid against NIST's schema).

Mapping: the hierarchy becomes ``GpUnit`` ReportingUnits under one root (``Type`` = the level name when
it is a ``ReportingUnitType``, else ``other`` + ``OtherType``), each carrying its voteaudit unit id as an
``ExternalIdentifier`` (``local-level``); tables carry ``VotersRegistered`` and ``VotersParticipated``
(= ballots cast); one ``CandidateContest`` holds one ``CandidateSelection`` per candidate with a
``total`` ``VoteCounts`` per table. A table with conflicting copies is exported with its first copy
(the CDF has one count per unit and selection; every copy is in the site's records). Null and blank
votes have no CDF field for a candidate contest and are left out.

Written as a stream of pre-formatted text: a million tables x 10 candidates is 10 million
``VoteCounts`` objects, far too many to build as Python dicts; the per-table parts are assembled
column-wise as Arrow strings.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voteaudit import __version__
from voteaudit.model import SourceMatrix
from voteaudit.publish.records import join, json_ints, json_strings, text_bytes
from voteaudit.publish.writer import compact

UNIT_TYPES = {"ballot-batch", "ballot-style-area", "borough", "city", "city-council", "combined-precinct",
              "congressional", "country", "county", "county-council", "drop-box", "judicial", "municipality",
              "polling-place", "precinct", "school", "special", "split-precinct", "state", "state-house",
              "state-senate", "town", "township", "utility", "village", "vote-center", "ward", "water"}
RU = "ElectionResults.ReportingUnit"


def _text(value: str) -> dict:
    return {"@type": "ElectionResults.InternationalizedText",
            "Text": [{"@type": "ElectionResults.LanguageString", "Content": value, "Language": "und"}]}


def _unit_type(level: str) -> dict:
    key = level.strip().lower()
    return {"Type": key} if key in UNIT_TYPES else {"Type": "other", "OtherType": level}


def _chunks(m: SourceMatrix, labels: dict[str, str], title: str, election_date: str,
            generated: str) -> Iterator[str | bytes | memoryview]:
    n = m.n_units
    levels = m.levels or ["table"]
    official = m.kind == "official"
    head = {
        "@type": "ElectionResults.ElectionReport", "Format": "precinct-level", "GeneratedDate": generated,
        "Issuer": m.source, "IssuerAbbreviation": m.source[:32], "SequenceStart": 1, "SequenceEnd": 1,
        "Status": "unofficial-complete" if official else "unofficial-partial",
        "VendorApplicationId": f"voteaudit {__version__}",
        "Notes": f"Exported by voteaudit publish from source {m.source!r} (kind {m.kind}); one record per table; "
                 "tables with conflicting copies carry their first copy.",
    }
    yield compact(head)[:-1]
    # GpUnits: the root, every ancestor, every table. Ids are positional (the CDF wants XML-ID-like @ids).
    ids: dict[str, str] = {}
    for arr in m.path[:-1]:
        for a in dict.fromkeys(arr.tolist()):
            ids[a] = f"ru-{len(ids) + 1}"
    table_ids = m.unit_ids.tolist()
    table_ru = [f"ru-{len(ids) + 1 + i}" for i in range(n)]
    children: dict[str, list[str]] = {"": []}
    last = len(m.path) - 1
    for k in range(len(m.path)):
        parents = m.path[k - 1].tolist() if k else [""] * n
        if k < last:
            for p, c in dict.fromkeys(zip(parents, m.path[k].tolist(), strict=True)):
                children.setdefault(p, []).append(ids[c])
        else:
            for p, ru in zip(parents, table_ru, strict=True):
                children.setdefault(p, []).append(ru)
    root = {"@id": "ru-0", "@type": RU, "Type": "other", "OtherType": "election", "Name": _text(title),
            "ComposingGpUnitIds": children[""]}
    yield ',"GpUnit":[' + compact(root)
    for a, gid in ids.items():
        level = levels[a.count(".")] if a.count(".") < len(levels) else "other"
        unit = {"@id": gid, "@type": RU, **_unit_type(level), "Name": _text(labels.get(a) or a),
                "ExternalIdentifier": [{"@type": "ElectionResults.ExternalIdentifier", "Type": "local-level",
                                        "Value": a}],
                "ComposingGpUnitIds": children.get(a, [])}
        yield "," + compact(unit)
    tail = compact({"@type": RU, **_unit_type(levels[-1])})[1:-1]
    name_pre, name_post = compact(_text("")).split('""')
    ext_pre, ext_post = compact([{"@type": "ElectionResults.ExternalIdentifier", "Type": "local-level",
                                  "Value": ""}]).split('""')
    uid = pa.array(table_ids, pa.string())
    names = json_strings(pa.array([labels.get(t) or t.rsplit(".", 1)[-1] for t in table_ids], pa.string()))
    ru_no = json_ints(pa.array(np.arange(len(ids) + 1, len(ids) + 1 + n, dtype=np.int64)))
    reg, cast = json_ints(m.registered), json_ints(m.cast)
    units = join(',{"@id":"ru-', ru_no, '",', tail, ',"Name":', name_pre, names, name_post, ',"ExternalIdentifier":',
                 ext_pre, json_strings(uid), ext_post,
                 pc.if_else(pa.array(m.registered >= 0), join(',"VotersRegistered":', reg), ""),
                 pc.if_else(pa.array(m.cast >= 0), join(',"VotersParticipated":', cast), ""), "}")
    yield text_bytes(units)
    yield "]"
    election = {
        "@type": "ElectionResults.Election", "ElectionScopeId": "ru-0", "Name": _text(title),
        "StartDate": election_date, "EndDate": election_date, "Type": "general",
        "Candidate": [{"@id": f"cand-{j + 1}", "@type": "ElectionResults.Candidate", "BallotName": _text(c)}
                      for j, c in enumerate(m.candidates)],
    }
    contest = {"@id": "contest-1", "@type": "ElectionResults.CandidateContest", "Name": title,
               "ElectionDistrictId": "ru-0", "VotesAllowed": 1}
    yield ',"Election":[' + compact(election)[:-1] + ',"Contest":[' + compact(contest)[:-1] + ',"ContestSelection":['
    for j in range(len(m.candidates)):
        sel = {"@id": f"sel-{j + 1}", "@type": "ElectionResults.CandidateSelection", "CandidateIds": [f"cand-{j + 1}"]}
        yield ("," if j else "") + compact(sel)[:-1] + ',"VoteCounts":['
        votes = json_ints(pa.array(np.ascontiguousarray(m.votes[:, j])))
        counts = join('{"@type":"ElectionResults.VoteCounts","Count":', votes, ',"GpUnitId":"ru-', ru_no,
                      '","Type":"total"},')
        yield text_bytes(counts)[:-1]
        yield "]}"
    yield "]}]}]}\n"


def write_cdf(m: SourceMatrix, labels: dict[str, str], path: Path, *, title: str,
              election_date: str | None = None, gzipped: bool = False) -> None:
    """Write ``m`` as a CDF ElectionReport to ``path`` (gzip-compressed when ``gzipped``)."""
    now = datetime.now(UTC).replace(microsecond=0)
    generated = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    date = election_date or now.strftime("%Y-%m-%d")
    fh: IO[bytes]
    with (gzip.open(path, "wb", compresslevel=1) if gzipped else open(path, "wb")) as fh:
        for chunk in _chunks(m, labels, title, date, generated):
            fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
