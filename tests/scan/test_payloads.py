"""Payload parsing and checks: the real Venezuela 2024 examples, malformed payloads, the generic format."""

from __future__ import annotations

import pytest
from conftest import EXAMPLE_IPINCE, EXAMPLE_STRVM

from voteaudit.ingest.scan import formats, parse_payload, register_format
from voteaudit.ingest.scan.generic import encode_generic
from voteaudit.ingest.scan.payloads import get_format, set_registered
from voteaudit.ingest.scan.records import Sheet
from voteaudit.ingest.scan.ve2024 import CARDS, GONZALEZ, MADURO, MARTINEZ, RAUSSEO
from voteaudit.model import InputError


def test_real_example_strvm() -> None:
    s = parse_payload(EXAMPLE_STRVM)
    assert s.payload_format == "ve2024"
    assert s.unit_parts == ["15", "07", "02", "150702005", "02"]
    assert s.levels == ["state", "municipality", "parish", "centre", "table"]
    assert list(s.selections) == CARDS and len(s.selections) == 38
    assert s.selections["UNTC"] == 7 and s.selections["MPV"] == 13 and s.selections["MUD"] == 350
    assert s.candidates[GONZALEZ] == 7 + 13 + 350
    assert s.candidates[MADURO] == 105 + 7 + 2 + 0 + 4 + 1 + 0 + 1 + 1 + 1 + 0 + 2 + 44
    assert s.candidates[MARTINEZ] == 2 + 1 + 0 + 0 + 1 + 0
    assert s.candidates[RAUSSEO] == 2
    assert s.valid == sum(s.selections.values()) == sum(s.candidates.values()) == 548
    # the same acta as decoded independently by ipince/vzlapi (vzlapi_qr_actas_21952.csv)
    assert list(s.candidates.values()) == [168, 4, 1, 1, 1, 1, 0, 370, 0, 2]
    assert (s.null, s.blank, s.registered) == (0, None, None)
    assert s.problems == [] and s.raw == EXAMPLE_STRVM


def test_real_example_ipince() -> None:
    s = parse_payload(EXAMPLE_IPINCE, format="ve2024")
    assert s.unit_parts == ["11", "06", "01", "110601011", "04"]
    assert s.candidates[GONZALEZ] == 8 + 22 + 406
    assert s.candidates[MADURO] == 122 + 1 + 0 + 0 + 4 + 2 + 0 + 0 + 2 + 1 + 0 + 1 + 2
    assert s.valid == 581 and s.problems == []
    # vzlapi_qr_resultados_8039.csv row for this acta: maduro 135, edmundo 436, ..., total_valido 581
    assert list(s.candidates.values()) == [135, 6, 2, 0, 1, 0, 0, 436, 0, 1]


@pytest.mark.parametrize("text, field", [
    (EXAMPLE_STRVM.replace("!0!0", "!0"), "payload"),                      # 3 fields
    (EXAMPLE_STRVM + "!0", "payload"),                                      # 5 fields
    (EXAMPLE_STRVM.replace("105,7,", "105,", 1), "counts"),                 # 37 counts
    (EXAMPLE_STRVM.replace("105,7,", "105,7,7,", 1), "counts"),             # 39 counts
    (EXAMPLE_STRVM.replace("105,", "1O5,", 1), "payload"),                  # letter O
    (EXAMPLE_STRVM.replace("105,", "-105,", 1), "payload"),                 # negative
    (EXAMPLE_STRVM.replace("105,", " 105,", 1), "payload"),                 # stray space
    (EXAMPLE_STRVM.replace("105,", ",", 1), "payload"),                     # empty count
    (EXAMPLE_STRVM.replace("!0!0", "!x!0"), "payload"),                     # null not integer
    (EXAMPLE_STRVM.replace("150702005.02", "15070200.02"), "acta_id"),      # 8-digit centre
    (EXAMPLE_STRVM.replace("150702005.02", "150702005.2"), "acta_id"),      # 1-digit mesa
])
def test_malformed_ve2024_rejected(text: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        parse_payload(text, format="ve2024")
    assert err.value.field == field


def test_ve2024_implausible_is_kept_and_flagged() -> None:
    s = parse_payload(EXAMPLE_STRVM.replace("!0!0", "!0!3"))
    assert any("4th field" in p for p in s.problems)
    s = parse_payload("99" + EXAMPLE_STRVM[2:])
    assert any("state code 99" in p for p in s.problems)
    s = parse_payload(EXAMPLE_STRVM.replace("105,", "1105,", 1))
    assert any("largest mesa" in p for p in s.problems)
    s = parse_payload(EXAMPLE_STRVM.replace(".1.0001", ".2.0001"))
    assert any("suffix" in p for p in s.problems)


def test_registered_bound() -> None:
    s = set_registered(parse_payload(EXAMPLE_STRVM), 500)
    assert s.registered == 500
    assert any("exceed registered" in p for p in s.problems)
    assert set_registered(parse_payload(EXAMPLE_STRVM), 800).problems == []


def _generic() -> str:
    return encode_generic(["ES", "13", "0401", "07"],
                          {"Ana Pérez": 120, "PX": 8, "Bo|Li;=@.%": 95},
                          null=3, blank=1, registered=400, valid=223, candidate_of={"PX": "Ana Pérez"})


def test_generic_round_trip() -> None:
    text = _generic()
    assert text.isascii() and text.startswith("VA1|ES.13.0401.07|")
    s = parse_payload(text)
    assert s.payload_format == "generic"
    assert s.unit_parts == ["ES", "13", "0401", "07"]
    assert s.selections == {"Ana Pérez": 120, "PX": 8, "Bo|Li;=@.%": 95}
    assert s.candidates == {"Ana Pérez": 128, "Bo|Li;=@.%": 95}
    assert (s.null, s.blank, s.registered, s.valid) == (3, 1, 400, 223)
    assert s.problems == []
    assert get_format("generic").encode(s) == text


def test_generic_sha256_checksum() -> None:
    text = encode_generic(["A"], {"x": 1}, kind="sha256")
    assert "|sha256:" in text and parse_payload(text).selections == {"x": 1}


def test_generic_every_mutated_digit_fails_checksum() -> None:
    text = _generic()
    body_end = text.rindex("|")
    mutated = 0
    for i, ch in enumerate(text[:body_end]):
        if ch.isdigit() and i > 3:  # after the VA1 magic
            bad = text[:i] + str((int(ch) + 1) % 10) + text[i + 1:]
            with pytest.raises(InputError, match="checksum"):
                parse_payload(bad)
            mutated += 1
    assert mutated > 10


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace("VA1|", "VA2|", 1),
    lambda t: t.rsplit("|", 1)[0] + "|crc32:zz",
    lambda t: t.replace("|null", "||null", 1),
])
def test_generic_malformed(mangle) -> None:
    with pytest.raises(InputError):
        parse_payload(mangle(_generic()), format="generic")


def test_generic_arithmetic_and_bounds_flagged() -> None:
    s = parse_payload(encode_generic(["A", "1"], {"x": 300, "y": 200}, registered=400, valid=480, cast=450))
    text = " | ".join(s.problems)
    assert "declared valid votes (480)" in text
    assert "exceed registered voters (400)" in text
    assert "ballots cast (450) fewer" in text and "ballots cast (450) exceed" in text


def test_unknown_payload() -> None:
    with pytest.raises(InputError, match="not a tally-sheet payload"):
        parse_payload("https://example.org/")
    with pytest.raises(InputError, match="unknown payload format"):
        parse_payload(EXAMPLE_STRVM, format="nope")


def test_register_plugin() -> None:
    class Csvish:
        name = "test-csvish"

        def detect(self, text: str) -> bool:
            return text.startswith("CSVISH,")

        def parse(self, text: str) -> Sheet:
            _, unit, a, b = text.split(",")
            sel = {"a": int(a), "b": int(b)}
            return Sheet("test-csvish", [unit], sel, dict(sel), None, None, None, sum(sel.values()), text)

        def encode(self, sheet: Sheet) -> str:
            return f"CSVISH,{sheet.unit_parts[0]},{sheet.selections['a']},{sheet.selections['b']}"

    register_format(Csvish())
    try:
        assert "test-csvish" in formats()
        assert parse_payload("CSVISH,u1,3,4").valid == 7
    finally:
        from voteaudit.ingest.scan import payloads
        payloads._REGISTRY.pop("test-csvish")


def test_ve2024_has_no_checksum_only_shape_and_bounds_guard() -> None:
    """Documented limitation: a digit changed inside a count still parses (no checksum in the QR);
    what a corruption breaks — the 38-count shape, integers, bounds — is caught or flagged."""
    changed = parse_payload(EXAMPLE_STRVM.replace(",350,", ",359,"))
    assert changed.candidates[GONZALEZ] == 379 and changed.problems == []
    with pytest.raises(InputError):
        parse_payload(EXAMPLE_STRVM.replace(",350,", ",35,0,"))     # comma inserted: 39 counts
    with pytest.raises(InputError):
        parse_payload(EXAMPLE_STRVM.replace(",350,", ",3:0,"))      # garbled digit
    assert parse_payload(EXAMPLE_STRVM.replace(",350,", ",3500,")).problems  # over any mesa's size
