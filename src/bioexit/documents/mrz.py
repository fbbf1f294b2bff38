"""ICAO Doc 9303 machine-readable zones: parse, and check every check digit the format has.

A zone is accepted whole or not at all: a wrong shape or character raises MRZFormatError,
a digit that does not match its field raises MRZCheckDigitError, and no partially validated
MRZ is ever returned. Written here because the PyPI ``mrz`` package is GPL-3.0, which the
Apache-2.0 default install must not carry.

Layouts (1-based positions) follow Doc 9303 part 4 (TD3), part 5 (TD1), part 6 (TD2) and
part 7 (MRV-A, MRV-B); characters and check digits follow part 3.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Literal

from bioexit.errors import ConfigError, DocumentKindError, MRZCheckDigitError, MRZFormatError

__all__ = ["KIND_RULES", "MRZ", "DocumentKind", "KindRule", "MRZFormat", "Sex", "check_digit", "parse_mrz"]

MRZFormat = Literal["TD1", "TD2", "TD3", "MRV-A", "MRV-B"]
Sex = Literal["F", "M", "X"]

FILLER = "<"
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_ALLOWED = _LETTERS | _DIGITS | {FILLER}
_WEIGHTS = (7, 3, 1)
_SHAPES = "3 lines of 30 (TD1), 2 lines of 36 (TD2, MRV-B) or 2 lines of 44 (TD3, MRV-A)"
MIN_HASH_KEY_BYTES = 16


class DocumentKind(Enum):
    """What the document is, as far as its MRZ alone can tell.

    The mapping (``_kind``) uses only conventions we could source, and answers ID_CARD or
    OTHER rather than guess:

    - ``P…`` → PASSPORT (Doc 9303 part 4: the first character of a passport's code is P).
    - ``V…`` → VISA (Doc 9303 part 7: the first character of a visa's code is V).
    - ``IP`` on TD1 → PASSPORT_CARD (the code the US passport card carries; Wikipedia
      "United States passport card" says ICAO designates IP for passport cards, and the
      Innovatrics mrz-java parser reads IP as a passport).
    - ``C1``/``C2`` on TD1 issued by USA → PERMANENT_RESIDENT_CARD (USCIS Form I-551:
      C1 resident in the US, C2 commuter living in Canada or Mexico; layout as published
      by immihelp.com and Wikipedia "Permanent residence (United States)").
    - other ``I…`` on TD1/TD2 → ID_CARD (I is the identity-document letter of parts 5/6;
      residence permits coded ``IR`` by some states also land here).
    - ``AC`` (crew member certificate, part 5), other ``A…``/``C…`` and anything else → OTHER.

    BORDER_CROSSING_CARD is never derived: we found no source for the code that the US
    B1/B2 border crossing card carries in its MRZ, so it is left to callers who know the
    document by other means: ``parse_mrz(..., kind=DocumentKind.BORDER_CROSSING_CARD)``,
    which checks the zone against that kind's :data:`KIND_RULES`.
    """

    PASSPORT = "passport"
    PASSPORT_CARD = "passport-card"
    VISA = "visa"
    PERMANENT_RESIDENT_CARD = "permanent-resident-card"
    BORDER_CROSSING_CARD = "border-crossing-card"
    ID_CARD = "id-card"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class KindRule:
    """What an MRZ must look like to be a document of one kind: its formats and code letters."""

    formats: frozenset[MRZFormat]
    code_letters: frozenset[str]  # the first character of the document code


_CARD_LETTERS = frozenset("IAC")  # Doc 9303 part 5: the official travel documents in TD1/TD2 sizes
_ALL_FORMATS: frozenset[MRZFormat] = frozenset(("TD1", "TD2", "TD3", "MRV-A", "MRV-B"))

KIND_RULES: dict[DocumentKind, KindRule] = {
    # Passport books are TD3 (part 4); passport cards, green cards and border crossing cards
    # are ID-1 sized, so TD1 (part 5); visas are MRV-A or MRV-B (part 7).
    DocumentKind.PASSPORT: KindRule(frozenset(("TD3",)), frozenset("P")),
    DocumentKind.PASSPORT_CARD: KindRule(frozenset(("TD1",)), _CARD_LETTERS),
    DocumentKind.VISA: KindRule(frozenset(("MRV-A", "MRV-B")), frozenset("V")),
    DocumentKind.PERMANENT_RESIDENT_CARD: KindRule(frozenset(("TD1",)), _CARD_LETTERS),
    DocumentKind.BORDER_CROSSING_CARD: KindRule(frozenset(("TD1",)), _CARD_LETTERS),
    DocumentKind.ID_CARD: KindRule(frozenset(("TD1", "TD2")), _CARD_LETTERS),
    DocumentKind.OTHER: KindRule(_ALL_FORMATS, frozenset(_LETTERS)),
}
"""Each kind's MRZ formats and document-code letters; an explicit kind is checked against it."""

# A kind derived from the zone that an explicit kind may only repeat, never contradict.
_DEFINITE = frozenset(
    (
        DocumentKind.PASSPORT,
        DocumentKind.VISA,
        DocumentKind.PASSPORT_CARD,
        DocumentKind.PERMANENT_RESIDENT_CARD,
    )
)


def _value(char: str) -> int:
    if char in _DIGITS:
        return ord(char) - ord("0")
    if char in _LETTERS:
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise ValueError(char)


def check_digit(field: str) -> int:
    """ICAO 9303 part 3 check digit: weights 7, 3, 1 repeating; 0–9, A–Z = 10–35, ``<`` = 0."""
    total = 0
    for index, char in enumerate(field):
        try:
            total += _value(char) * _WEIGHTS[index % 3]
        except ValueError:
            raise MRZFormatError(
                f"character at position {index + 1} of a check-digit field is not an MRZ character",
                expected="A–Z, 0–9 or <",
                got=char,
            ) from None
    return total % 10


@dataclass(frozen=True, slots=True, repr=False)
class MRZ:
    """A fully validated machine-readable zone.

    ``document_number`` is personal data that must never reach a log: ``repr`` masks it,
    and holds no names, birth date, optional data or raw lines (which repeat the number).
    Audit records keep ``document_number_hash(key)`` instead.
    """

    format: MRZFormat
    document_code: str  # fillers stripped: "P", "PM", "I", "AC", "V"
    kind: DocumentKind
    issuing_state: str  # fillers stripped: "UTO", "D"
    surname: str
    given_names: tuple[str, ...]
    document_number: str  # fillers stripped; the full number where it overflowed (TD1, TD2)
    nationality: str
    birth_date: date | None  # None where wholly or partly unknown (fillers)
    expiry_date: date | None  # None where unknown (fillers)
    sex: Sex  # "X" for "<" (unspecified)
    optional_data_1: str  # TD3 personal number; TD1 line 1 / TD2 / MRV optional data
    optional_data_2: str  # TD1 line 2 optional data; "" for the other formats
    lines: tuple[str, ...]

    def __repr__(self) -> str:
        return (
            f"MRZ(format={self.format!r}, kind={self.kind.name}, document_code={self.document_code!r}, "
            f"issuing_state={self.issuing_state!r}, nationality={self.nationality!r}, "
            f"document_number={_mask(self.document_number)!r}, expiry_date={self.expiry_date!r})"
        )

    def document_number_hash(self, key: bytes) -> str:
        """HMAC-SHA256 of the document number (hex), so audit records can link without holding it."""
        if len(key) < MIN_HASH_KEY_BYTES:
            raise ConfigError(
                "document-number hash key is too short",
                expected=f"at least {MIN_HASH_KEY_BYTES} bytes",
                got=f"{len(key)} bytes",
            )
        return hmac.new(key, self.document_number.encode("ascii"), hashlib.sha256).hexdigest()


def _mask(number: str) -> str:
    shown = number[-3:] if len(number) > 3 else ""
    return "*" * (len(number) - len(shown)) + shown


@dataclass(frozen=True, slots=True)
class _Check:
    """One check digit: the field it covers and where the digit sits (1-based)."""

    name: str
    field: str
    digit: str
    line: int
    position: int


@dataclass(frozen=True, slots=True)
class _Raw:
    """The raw fields of one zone, sliced by its format's layout."""

    code: str
    issuing_state: str
    name: str
    number_check: _Check
    nationality: str
    birth: _Check
    sex: str
    sex_at: tuple[int, int]
    expiry: _Check
    optional_1: str
    optional_1_at: tuple[int, int]  # line, position of the optional field's first character
    personal_number: _Check | None
    optional_2: str
    composite: _Check | None
    name_line: int
    name_position: int
    nationality_at: tuple[int, int]


def parse_mrz(
    text: str | Sequence[str], *, today: date | None = None, kind: DocumentKind | None = None
) -> MRZ:
    """Parse and validate a zone given as one string (split into lines) or as its lines.

    ``kind`` (default: derived from the zone, see :class:`DocumentKind`) states what the
    document is where the caller knows better than the zone can say, e.g. a border crossing
    card. The zone must have one of that kind's formats and code letters (:data:`KIND_RULES`),
    and may not contradict a definite derived kind (a ``P`` zone is a passport, never a visa);
    otherwise :class:`DocumentKindError`.

    ``today`` (default: the current date) anchors the two-digit years: a birth date is put
    in the latest century that is not in the future, an expiry date in the century that
    places it within [today − 50 years, today + 50 years).
    """
    if today is None:
        today = date.today()
    elif isinstance(today, datetime):
        today = today.date()
    lines = _split(text)
    fmt = _detect(lines)
    _check_characters(lines)
    raw = _slice(fmt, lines)

    code = _code(raw.code)
    issuing_state = _country(raw.issuing_state, "issuing state", 1, 3)
    nationality = _country(raw.nationality, "nationality", *raw.nationality_at)
    surname, given_names = _name(raw.name, raw.name_line, raw.name_position)
    birth_date = _date(raw.birth, today, expiry=False)
    expiry_date = _date(raw.expiry, today, expiry=True)
    sex = _sex(raw.sex, *raw.sex_at)

    number, optional_1, number_check = _document_number(fmt, raw)
    checks = [number_check, raw.birth, raw.expiry]
    if raw.personal_number is not None:
        personal = raw.personal_number
        if not (personal.digit == FILLER and set(personal.field) == {FILLER}):
            checks.append(personal)
    if raw.composite is not None:
        checks.append(raw.composite)
    for check in checks:
        _verify(check)

    derived = _kind(fmt, code, issuing_state)
    if kind is not None:
        _check_kind(kind, derived, fmt, code)

    return MRZ(
        format=fmt,
        document_code=code,
        kind=kind or derived,
        issuing_state=issuing_state,
        surname=surname,
        given_names=given_names,
        document_number=number,
        nationality=nationality,
        birth_date=birth_date,
        expiry_date=expiry_date,
        sex=sex,
        optional_data_1=optional_1.rstrip(FILLER),
        optional_data_2=raw.optional_2.rstrip(FILLER),
        lines=lines,
    )


def _split(text: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(text, str):
        return tuple(line.strip() for line in text.strip().splitlines())
    lines: list[str] = []
    for index, line in enumerate(text, start=1):
        if not isinstance(line, str):
            raise MRZFormatError(f"MRZ line {index} is not text", expected="str", got=type(line).__name__)
        lines.append(line.strip())
    return tuple(lines)


def _detect(lines: tuple[str, ...]) -> MRZFormat:
    lengths = {len(line) for line in lines}
    if len(lengths) == 1:
        (length,) = lengths
        visa = lines[0].startswith("V")
        if len(lines) == 3 and length == 30:
            return "TD1"
        if len(lines) == 2 and length == 36:
            return "MRV-B" if visa else "TD2"
        if len(lines) == 2 and length == 44:
            return "MRV-A" if visa else "TD3"
    shape = ", ".join(str(len(line)) for line in lines) or "none"
    raise MRZFormatError(
        "not an MRZ shape", expected=_SHAPES, got=f"{len(lines)} line(s) of {shape} characters"
    )


def _check_characters(lines: tuple[str, ...]) -> None:
    for number, line in enumerate(lines, start=1):
        for position, char in enumerate(line, start=1):
            if char not in _ALLOWED:
                hint = " (lowercase is not accepted)" if char.isalpha() and char.upper() in _LETTERS else ""
                raise MRZFormatError(
                    f"line {number}, position {position}: not an MRZ character{hint}",
                    expected="A–Z, 0–9 or <",
                    got=repr(char),
                )


def _slice(fmt: MRZFormat, lines: tuple[str, ...]) -> _Raw:
    if fmt == "TD1":
        top, middle, bottom = lines
        return _Raw(
            code=top[0:2],
            issuing_state=top[2:5],
            name=bottom,
            number_check=_Check("document number", top[5:14], top[14], 1, 15),
            nationality=middle[15:18],
            birth=_Check("date of birth", middle[0:6], middle[6], 2, 7),
            sex=middle[7],
            sex_at=(2, 8),
            expiry=_Check("date of expiry", middle[8:14], middle[14], 2, 15),
            optional_1=top[15:30],
            optional_1_at=(1, 16),
            personal_number=None,
            optional_2=middle[18:29],
            composite=_Check(
                "composite", top[5:30] + middle[0:7] + middle[8:15] + middle[18:29], middle[29], 2, 30
            ),
            name_line=3,
            name_position=1,
            nationality_at=(2, 16),
        )
    top, bottom = lines
    width = len(bottom)
    personal_number = None
    composite = None
    optional_end = width
    if fmt == "TD2":
        optional_end = 35
        composite = _Check("composite", bottom[0:10] + bottom[13:20] + bottom[21:35], bottom[35], 2, 36)
    elif fmt == "TD3":
        optional_end = 42
        personal_number = _Check("personal number", bottom[28:42], bottom[42], 2, 43)
        composite = _Check("composite", bottom[0:10] + bottom[13:20] + bottom[21:43], bottom[43], 2, 44)
    return _Raw(
        code=top[0:2],
        issuing_state=top[2:5],
        name=top[5:],
        number_check=_Check("document number", bottom[0:9], bottom[9], 2, 10),
        nationality=bottom[10:13],
        birth=_Check("date of birth", bottom[13:19], bottom[19], 2, 20),
        sex=bottom[20],
        sex_at=(2, 21),
        expiry=_Check("date of expiry", bottom[21:27], bottom[27], 2, 28),
        optional_1=bottom[28:optional_end],
        optional_1_at=(2, 29),
        personal_number=personal_number,
        optional_2="",
        composite=composite,
        name_line=1,
        name_position=6,
        nationality_at=(2, 11),
    )


def _document_number(fmt: MRZFormat, raw: _Raw) -> tuple[str, str, _Check]:
    """The document number, what remains of the optional data, and the check that covers the number.

    TD1 and TD2 (Doc 9303 parts 5 and 6): a number longer than 9 characters puts its first
    9 in the number field, a filler in the check-digit position, and the rest at the start
    of the optional data, followed by the check digit (over the whole number) and a filler.
    """
    check = raw.number_check
    if fmt not in ("TD1", "TD2") or check.digit != FILLER or FILLER in check.field:
        number = check.field.rstrip(FILLER)
        if not number:
            raise MRZFormatError(
                "document number is empty", expected="at least one character", got="only fillers"
            )
        return number, raw.optional_1, check
    end = raw.optional_1.find(FILLER)
    line, position = raw.optional_1_at
    if end < 2:
        raise MRZFormatError(
            f"document number overflows (filler at line {check.line}, position {check.position}) "
            f"but the optional data at line {line}, position {position} does not continue it",
            expected="the remaining characters, a check digit and a filler",
            got="none" if end == 0 else ("no filler" if end < 0 else "one character"),
        )
    number = check.field + raw.optional_1[: end - 1]
    overflow_check = _Check("document number", number, raw.optional_1[end - 1], line, position + end - 1)
    return number, raw.optional_1[end + 1 :], overflow_check


def _verify(check: _Check) -> None:
    expected = check_digit(check.field)
    if check.digit != str(expected):
        raise MRZCheckDigitError(
            f"{check.name} check digit (line {check.line}, position {check.position}) does not match",
            expected=expected,
            got=check.digit,
        )


def _code(raw: str) -> str:
    # The second character is the issuer's choice (parts 4, 5, 7): US green cards use C1/C2.
    if raw[0] not in _LETTERS:
        raise MRZFormatError(
            "document code (line 1, positions 1–2) is malformed",
            expected="a letter, then a letter, digit or <",
            got=raw,
        )
    return raw.rstrip(FILLER)


def _country(raw: str, what: str, line: int, position: int) -> str:
    code = raw.rstrip(FILLER)
    if not code or any(char not in _LETTERS for char in code):
        raise MRZFormatError(
            f"{what} (line {line}, positions {position}–{position + 2}) is malformed",
            expected="a three-letter code, or a shorter one padded with <",
            got=raw,
        )
    return code


def _name(raw: str, line: int, position: int) -> tuple[str, tuple[str, ...]]:
    for offset, char in enumerate(raw):
        if char not in _LETTERS and char != FILLER:
            raise MRZFormatError(
                f"name (line {line}, position {position + offset}) holds a non-letter",
                expected="A–Z or <",
                got=char,
            )
    primary, _, secondary = raw.strip(FILLER).partition(FILLER * 2)
    surname = " ".join(part for part in primary.split(FILLER) if part)
    if not surname:
        raise MRZFormatError(
            f"name (line {line}, from position {position}) is empty",
            expected="a primary identifier",
            got="only fillers",
        )
    return surname, tuple(part for part in secondary.split(FILLER) if part)


def _date(check: _Check, today: date, *, expiry: bool) -> date | None:
    raw = check.field
    where = f"{check.name} (line {check.line}, positions {check.position - 6}–{check.position - 1})"
    known = raw.rstrip(FILLER)
    if len(known) in (0, 2, 4) and set(known) <= _DIGITS and (not expiry or not known):
        # Wholly unknown, or (birth only) known to the year or month: Doc 9303 part 3 puts
        # fillers in the unknown part. A partial date cannot be a ``date``.
        return None
    if not set(raw) <= _DIGITS:
        raise MRZFormatError(f"{where} is malformed", expected="YYMMDD digits, or six fillers", got=raw)
    yy, month, day = int(raw[0:2]), int(raw[2:4]), int(raw[4:6])
    try:
        date(2000, month, day)  # a leap year: rejects only days that no year has
    except ValueError:
        raise MRZFormatError(f"{where} is not a calendar date", expected="a valid YYMMDD", got=raw) from None
    base = today.year - today.year % 100 + yy
    if expiry:
        low, high = _shift_years(today, -50), _shift_years(today, 50)
        chosen = [d for d in _dates(month, day, (base - 100, base, base + 100)) if low <= d < high]
    else:
        chosen = [d for d in _dates(month, day, (base, base - 100)) if d <= today]
    if not chosen:
        raise MRZFormatError(
            f"{where} has no valid century",
            expected="a date that exists in the century the rule selects (29 February in a leap year)",
            got=raw,
        )
    return chosen[0]


def _dates(month: int, day: int, years: tuple[int, ...]) -> list[date]:
    found = []
    for year in years:
        try:
            found.append(date(year, month, day))
        except ValueError:
            continue
    return found


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def _sex(raw: str, line: int, position: int) -> Sex:
    if raw == "F":
        return "F"
    if raw == "M":
        return "M"
    if raw in (FILLER, "X"):
        return "X"
    raise MRZFormatError(
        f"sex (line {line}, position {position}) is not a sex code", expected="F, M, X or <", got=raw
    )


def _check_kind(kind: DocumentKind, derived: DocumentKind, fmt: MRZFormat, code: str) -> None:
    rule = KIND_RULES[kind]
    if fmt not in rule.formats:
        raise DocumentKindError(
            f"a {kind.value} does not carry a {fmt} zone",
            expected=" or ".join(sorted(rule.formats)),
            got=fmt,
        )
    if code[0] not in rule.code_letters:
        raise DocumentKindError(
            f"a {kind.value} does not have document code {code!r}",
            expected="a code starting with " + " or ".join(sorted(rule.code_letters)),
            got=code,
        )
    if derived in _DEFINITE and derived is not kind:
        raise DocumentKindError(
            f"the zone says {derived.value} (document code {code!r}), not {kind.value}",
            expected=derived.value,
            got=kind.value,
        )


def _kind(fmt: MRZFormat, code: str, issuing_state: str) -> DocumentKind:
    """See DocumentKind for the mapping and its sources."""
    if code.startswith("P"):
        return DocumentKind.PASSPORT
    if code.startswith("V"):
        return DocumentKind.VISA
    if fmt == "TD1" and code == "IP":
        return DocumentKind.PASSPORT_CARD
    if fmt == "TD1" and code in ("C1", "C2") and issuing_state == "USA":
        return DocumentKind.PERMANENT_RESIDENT_CARD
    if fmt in ("TD1", "TD2") and code.startswith("I"):
        return DocumentKind.ID_CARD
    return DocumentKind.OTHER
