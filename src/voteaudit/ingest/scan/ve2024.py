"""Venezuela 2024 presidential acta QR payload (format name ``ve2024``).

Plain ASCII, four ``!``-separated fields (see data/venezuela-2024/SOURCE.md)::

    CCCCCCCCC.MM.1.0001!v1,v2,...,v38!null!0

* ``CCCCCCCCC`` the CNE centre code ``EEMMPPCCC`` (state, municipality, parish, centre), ``MM`` the
  mesa (table); ``.1.0001`` was identical in every published acta (meaning undocumented).
* 38 counts per ballot card, in ballot order (card names in :data:`CARDS`, candidates in
  :data:`CARD_CANDIDATE`); valid votes = their sum.
* null votes; a 4th count that was 0 in every decoded acta.

**There is no checksum or signature in this payload.** A corrupted or forged payload that keeps
the shape parses. The guards are therefore the shape (exactly 4 fields, a 9+2-digit id, exactly
38 non-negative integer counts: InputError otherwise) and plausibility flags kept on the sheet:
an unknown state code, mesa 00, an id suffix other than ``.1.0001``, a non-zero 4th field, more
ballots than any mesa has electors, and (when a registry supplies it) more ballots than the
mesa's registered voters. The QR symbol's own Reed-Solomon error correction is what protects
against misreads of a genuine sheet.
"""

from __future__ import annotations

import re

from voteaudit.model import InputError

from .payloads import check_bounds, register_format
from .records import Sheet

NAME = "ve2024"

MADURO = "Nicolás Maduro"
GONZALEZ = "Edmundo González Urrutia"
MARTINEZ = "Luis Eduardo Martínez"
BERTUCCI = "Javier Bertucci"
BRITO = "José Brito"
ECARRI = "Antonio Ecarri"
FERMIN = "Claudio Fermín"
CEBALLOS = "Daniel Ceballos"
MARQUEZ = "Enrique Márquez"
RAUSSEO = "Benjamín Rausseo"

#: Candidates with their ballot cards, in ballot order.
_BALLOT: list[tuple[str, list[str]]] = [
    (MADURO, ["PSUV", "PCV", "TUPAMARO", "PPT", "MSV", "PODEMOS", "MEP", "APC", "ORA", "UPV", "EV",
              "PVV", "PFV"]),
    (MARTINEZ, ["AD", "COPEI", "MR", "BR", "DDP", "UNE"]),
    (BERTUCCI, ["EL CAMBIO"]),
    (BRITO, ["PV", "VU", "UVV", "MPJ"]),
    (ECARRI, ["AP", "MOVEV", "CMC", "FV", "ALIANZA DEL LAPIZ", "MIN UNIDAD"]),
    (FERMIN, ["SPV"]),
    (CEBALLOS, ["VPA", "AREPA"]),
    (GONZALEZ, ["UNTC", "MPV", "MUD"]),
    (MARQUEZ, ["CENTRADOS"]),
    (RAUSSEO, ["CONDE"]),
]
#: The 38 ballot cards in ballot order.
CARDS: list[str] = [card for _, cards in _BALLOT for card in cards]
#: Card -> candidate.
CARD_CANDIDATE: dict[str, str] = {card: cand for cand, cards in _BALLOT for card in cards}
#: Candidates in ballot order of their first card.
CANDIDATES: list[str] = [cand for cand, _ in _BALLOT]
LEVELS = ["state", "municipality", "parish", "centre", "table"]
#: CNE state codes 01-24.
STATES = range(1, 25)
#: Largest registered electorate of any mesa in the opposition's dump (RE column): 1,451.
MAX_ELECTORS_PER_MESA = 1451

_ID = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{3})\.(\d{2})\.(\d+)\.(\d+)")
_INT = re.compile(r"\d{1,9}")
_SNIFF = re.compile(r"\s*\d{9}\.\d{2}\.")

assert len(CARDS) == 38 and len(set(CARDS)) == 38


def _count(token: str, what: str) -> int:
    if not _INT.fullmatch(token):
        raise InputError(f"{what} is {token!r}, not a non-negative integer", field="payload")
    return int(token)


class Ve2024Format:
    """The ``ve2024`` payload plug-in."""

    name = NAME

    def detect(self, text: str) -> bool:
        return bool(_SNIFF.match(text)) and "!" in text

    def parse(self, text: str) -> Sheet:
        body = text.strip()
        fields = body.split("!")
        if len(fields) != 4:
            raise InputError(f"ve2024 payload has {len(fields)} '!'-separated fields, expected 4 "
                             "(acta id, 38 counts, null, 4th count)", field="payload")
        acta, counts_field, null_field, fourth_field = fields
        m = _ID.fullmatch(acta)
        if not m:
            raise InputError(f"acta id {acta!r} is not CCCCCCCCC.MM.N.NNNN (9-digit centre, 2-digit mesa)",
                             field="acta_id")
        state, mun, par, _ctr, mesa, kind, seq = m.groups()
        tokens = counts_field.split(",")
        if len(tokens) != len(CARDS):
            raise InputError(f"ve2024 payload has {len(tokens)} ballot-card counts, expected {len(CARDS)}",
                             field="counts")
        counts = [_count(t, f"count {i} ({CARDS[i - 1]})") for i, t in enumerate(tokens, 1)]
        null = _count(null_field, "null votes (3rd field)")
        fourth = _count(fourth_field, "4th field")
        selections = dict(zip(CARDS, counts, strict=True))
        candidates = dict.fromkeys(CANDIDATES, 0)
        for card, votes in selections.items():
            candidates[CARD_CANDIDATE[card]] += votes
        centre = acta[:9]
        sheet = Sheet(payload_format=NAME, unit_parts=[state, mun, par, centre, mesa],
                      selections=selections, candidates=candidates, null=null, blank=None,
                      registered=None, valid=sum(counts), raw=text, levels=list(LEVELS),
                      extra={"acta_id": acta, "fourth": fourth})
        if int(state) not in STATES:
            sheet.problems.append(f"state code {state} is not a CNE state (01-24)")
        if mesa == "00":
            sheet.problems.append("mesa number 00")
        if (kind, seq) != ("1", "0001"):
            sheet.problems.append(f"acta id suffix .{kind}.{seq} differs from .1.0001 (seen on every "
                                  "published acta)")
        if fourth != 0:
            sheet.problems.append(f"4th field is {fourth}; it was 0 on every published acta")
        if sheet.total > MAX_ELECTORS_PER_MESA:
            sheet.problems.append(f"{sheet.total} ballots counted, more than the largest mesa's "
                                  f"electorate ({MAX_ELECTORS_PER_MESA})")
        check_bounds(sheet)
        return sheet

    def encode(self, sheet: Sheet) -> str:
        parts = sheet.unit_parts
        acta = sheet.extra.get("acta_id") or f"{parts[3]}.{parts[4]}.1.0001"
        counts = ",".join(str(sheet.selections[c]) for c in CARDS)
        return f"{acta}!{counts}!{sheet.null or 0}!{sheet.extra.get('fourth', 0)}"


def make_sheet(centre: str, mesa: int | str, counts: list[int], null: int = 0, fourth: int = 0) -> Sheet:
    """A ve2024 sheet from its fields (via its payload text, so it is exactly what a scan returns)."""
    fmt = Ve2024Format()
    text = f"{centre}.{int(mesa):02d}.1.0001!{','.join(map(str, counts))}!{null}!{fourth}"
    return fmt.parse(text)


FORMAT = register_format(Ve2024Format())
