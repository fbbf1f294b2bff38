"""ICAO Doc 9303 MRZ parsing against the Doc 9303 specimens and vectors built from them.

Every specimen below was typed from memory, so each one is first checked here with an
independent check-digit implementation (``icao_digit``) at positions written out from the
Doc 9303 layouts, before any test trusts it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from datetime import date, datetime

import pytest

from bioexit.documents import DocumentKind, check_digit, parse_mrz
from bioexit.errors import ConfigError, DocumentError, MRZCheckDigitError, MRZFormatError

TODAY = date(2024, 6, 1)
KEY = b"k" * 32


def icao_digit(field: str) -> int:
    """Independent 7-3-1 check digit: base-36 values for 0-9/A-Z, 0 for the filler."""
    values = [0 if char == "<" else int(char, 36) for char in field]
    return sum(v * w for v, w in zip(values, itertools.cycle((7, 3, 1)), strict=False)) % 10


# Doc 9303 specimens: part 4 (TD3), part 5 (TD1, and its long-document-number example),
# part 6 (TD2), part 7 (MRV-A, MRV-B).
SPECIMENS: dict[str, tuple[str, ...]] = {
    "TD3": (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ),
    "TD1": (
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ),
    "TD2": (
        "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "D231458907UTO7408122F1204159<<<<<<<6",
    ),
    "MRV-A": (
        "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
    ),
    "MRV-B": (
        "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
        "L8988901C4XXX4009078F9612109<<<<<<<<",
    ),
    "TD1-long": (
        "I<UTOD23145890<7349<<<<<<<<<<<",
        "3407127M9507122UTO<<<<<<<<<<<2",
        "STEVENSON<<PETER<JOHN<<<<<<<<<",
    ),
}

# (field, [(line, first, last), ...] covered, (line, position) of the digit); 1-based, inclusive.
Span = tuple[int, int, int]
CHECKS: dict[str, list[tuple[str, list[Span], tuple[int, int]]]] = {
    "TD3": [
        ("document number", [(2, 1, 9)], (2, 10)),
        ("date of birth", [(2, 14, 19)], (2, 20)),
        ("date of expiry", [(2, 22, 27)], (2, 28)),
        ("personal number", [(2, 29, 42)], (2, 43)),
        ("composite", [(2, 1, 10), (2, 14, 20), (2, 22, 43)], (2, 44)),
    ],
    "TD1": [
        ("document number", [(1, 6, 14)], (1, 15)),
        ("date of birth", [(2, 1, 6)], (2, 7)),
        ("date of expiry", [(2, 9, 14)], (2, 15)),
        ("composite", [(1, 6, 30), (2, 1, 7), (2, 9, 15), (2, 19, 29)], (2, 30)),
    ],
    "TD2": [
        ("document number", [(2, 1, 9)], (2, 10)),
        ("date of birth", [(2, 14, 19)], (2, 20)),
        ("date of expiry", [(2, 22, 27)], (2, 28)),
        ("composite", [(2, 1, 10), (2, 14, 20), (2, 22, 35)], (2, 36)),
    ],
    "MRV-A": [
        ("document number", [(2, 1, 9)], (2, 10)),
        ("date of birth", [(2, 14, 19)], (2, 20)),
        ("date of expiry", [(2, 22, 27)], (2, 28)),
    ],
    "MRV-B": [
        ("document number", [(2, 1, 9)], (2, 10)),
        ("date of birth", [(2, 14, 19)], (2, 20)),
        ("date of expiry", [(2, 22, 27)], (2, 28)),
    ],
    "TD1-long": [
        # The 12-character number D23145890734: 9 in the number field, 3 in the optional data.
        ("document number", [(1, 6, 14), (1, 16, 18)], (1, 19)),
        ("date of birth", [(2, 1, 6)], (2, 7)),
        ("date of expiry", [(2, 9, 14)], (2, 15)),
        ("composite", [(1, 6, 30), (2, 1, 7), (2, 9, 15), (2, 19, 29)], (2, 30)),
    ],
}

ALL_CHECKS = [
    pytest.param(name, field, spans, at, id=f"{name}-{field}")
    for name, checks in CHECKS.items()
    for field, spans, at in checks
]


def covered(lines: tuple[str, ...], spans: list[Span]) -> str:
    return "".join(lines[line - 1][first - 1 : last] for line, first, last in spans)


def replace(lines: tuple[str, ...], line: int, position: int, char: str) -> tuple[str, ...]:
    out = list(lines)
    text = out[line - 1]
    out[line - 1] = text[: position - 1] + char + text[position:]
    return tuple(out)


def td3(
    *,
    code: str = "P<",
    state: str = "UTO",
    name: str = "ERIKSSON<<ANNA<MARIA",
    number: str = "L898902C3",
    nationality: str = "UTO",
    birth: str = "740812",
    sex: str = "F",
    expiry: str = "120415",
    personal: str = "ZE184226B",
    personal_check: str | None = None,
) -> tuple[str, str]:
    """A TD3 zone with every check digit computed by ``icao_digit``."""
    personal = personal.ljust(14, "<")
    pcheck = str(icao_digit(personal)) if personal_check is None else personal_check
    number = number.ljust(9, "<")
    bottom = (
        f"{number}{icao_digit(number)}{nationality}{birth}{icao_digit(birth)}{sex}"
        f"{expiry}{icao_digit(expiry)}{personal}{pcheck}"
    )
    bottom += str(icao_digit(bottom[0:10] + bottom[13:20] + bottom[21:43]))
    return (code + state + name).ljust(44, "<"), bottom


def td1(
    *,
    code: str = "I<",
    state: str = "UTO",
    number: str = "D23145890",
    optional_1: str = "",
    birth: str = "740812",
    sex: str = "F",
    expiry: str = "120415",
    nationality: str = "UTO",
    optional_2: str = "",
    name: str = "ERIKSSON<<ANNA<MARIA",
) -> tuple[str, str, str]:
    """A TD1 zone with every check digit computed by ``icao_digit``; long numbers overflow."""
    if len(number) > 9:
        field = number[:9] + "<" + number[9:] + str(icao_digit(number)) + "<" + optional_1
    else:
        padded = number.ljust(9, "<")
        field = padded + str(icao_digit(padded)) + optional_1
    top = (code + state + field).ljust(30, "<")
    middle = f"{birth}{icao_digit(birth)}{sex}{expiry}{icao_digit(expiry)}{nationality}" + optional_2.ljust(
        11, "<"
    )
    middle += str(icao_digit(top[5:30] + middle[0:7] + middle[8:15] + middle[18:29]))
    return top, middle, name.ljust(30, "<")


def td2(*, code: str = "I<", number: str = "D23145890", optional: str = "") -> tuple[str, str]:
    """A TD2 zone with every check digit computed by ``icao_digit``; long numbers overflow."""
    if len(number) > 9:
        field = (
            number[:9] + "<" + "UTO7408122F1204159" + number[9:] + str(icao_digit(number)) + "<" + optional
        )
    else:
        padded = number.ljust(9, "<")
        field = padded + str(icao_digit(padded)) + "UTO7408122F1204159" + optional
    bottom = field.ljust(35, "<")
    bottom += str(icao_digit(bottom[0:10] + bottom[13:20] + bottom[21:35]))
    return (code + "UTO" + "ERIKSSON<<ANNA<MARIA").ljust(36, "<"), bottom


# --- the vectors themselves ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "field", "spans", "at"), ALL_CHECKS)
def test_specimen_check_digits_verify_independently(
    name: str, field: str, spans: list[Span], at: tuple[int, int]
) -> None:
    lines = SPECIMENS[name]
    line, position = at
    assert str(icao_digit(covered(lines, spans))) == lines[line - 1][position - 1]


def test_builders_reproduce_the_specimens() -> None:
    assert td3() == SPECIMENS["TD3"]
    assert td1() == SPECIMENS["TD1"]
    assert td2() == SPECIMENS["TD2"]
    assert (
        td1(number="D23145890734", birth="340712", sex="M", expiry="950712", name="STEVENSON<<PETER<JOHN")
        == SPECIMENS["TD1-long"]
    )


@pytest.mark.parametrize(
    ("field", "digit"),
    [("L898902C3", 6), ("740812", 2), ("120415", 9), ("ZE184226B<<<<<", 1), ("<<<<<<", 0), ("", 0)],
)
def test_check_digit(field: str, digit: int) -> None:
    assert check_digit(field) == digit == icao_digit(field)


@pytest.mark.parametrize("field", ["l898902c3", "L898 902", "L898-902", "ÉRIK"])
def test_check_digit_refuses_non_mrz_characters(field: str) -> None:
    with pytest.raises(MRZFormatError, match="expected A–Z, 0–9 or <"):
        check_digit(field)


# --- each format parses ---------------------------------------------------------------------

ANNA = {"surname": "ERIKSSON", "given_names": ("ANNA", "MARIA"), "sex": "F", "issuing_state": "UTO"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "TD3",
            ANNA
            | {
                "format": "TD3",
                "document_code": "P",
                "kind": DocumentKind.PASSPORT,
                "document_number": "L898902C3",
                "nationality": "UTO",
                "birth_date": date(1974, 8, 12),
                "expiry_date": date(2012, 4, 15),
                "optional_data_1": "ZE184226B",
                "optional_data_2": "",
            },
        ),
        (
            "TD1",
            ANNA
            | {
                "format": "TD1",
                "document_code": "I",
                "kind": DocumentKind.ID_CARD,
                "document_number": "D23145890",
                "nationality": "UTO",
                "birth_date": date(1974, 8, 12),
                "expiry_date": date(2012, 4, 15),
                "optional_data_1": "",
                "optional_data_2": "",
            },
        ),
        (
            "TD2",
            ANNA
            | {
                "format": "TD2",
                "document_code": "I",
                "kind": DocumentKind.ID_CARD,
                "document_number": "D23145890",
                "nationality": "UTO",
                "birth_date": date(1974, 8, 12),
                "expiry_date": date(2012, 4, 15),
                "optional_data_1": "",
            },
        ),
        (
            "MRV-A",
            ANNA
            | {
                "format": "MRV-A",
                "document_code": "V",
                "kind": DocumentKind.VISA,
                "document_number": "L8988901C",
                "nationality": "XXX",
                "birth_date": date(1940, 9, 7),
                "expiry_date": date(1996, 12, 10),
                "optional_data_1": "6ZE184226B",
            },
        ),
        (
            "MRV-B",
            ANNA
            | {
                "format": "MRV-B",
                "document_code": "V",
                "kind": DocumentKind.VISA,
                "document_number": "L8988901C",
                "nationality": "XXX",
                "birth_date": date(1940, 9, 7),
                "expiry_date": date(1996, 12, 10),
                "optional_data_1": "",
            },
        ),
        (
            "TD1-long",
            {
                "format": "TD1",
                "document_code": "I",
                "kind": DocumentKind.ID_CARD,
                "issuing_state": "UTO",
                "surname": "STEVENSON",
                "given_names": ("PETER", "JOHN"),
                "document_number": "D23145890734",
                "nationality": "UTO",
                "birth_date": date(1934, 7, 12),
                "expiry_date": date(1995, 7, 12),
                "sex": "M",
                "optional_data_1": "",
                "optional_data_2": "",
            },
        ),
    ],
)
def test_specimens_parse(name: str, expected: dict[str, object]) -> None:
    mrz = parse_mrz(SPECIMENS[name], today=TODAY)
    assert {key: getattr(mrz, key) for key in expected} == expected
    assert mrz.lines == SPECIMENS[name]


def test_one_string_with_surrounding_whitespace_is_split_into_lines() -> None:
    text = "\n   " + "  \n\t".join(SPECIMENS["TD1"]) + "  \n\n"
    assert parse_mrz(text, today=TODAY) == parse_mrz(list(SPECIMENS["TD1"]), today=TODAY)
    assert parse_mrz(text, today=TODAY).lines == SPECIMENS["TD1"]


def test_mrz_is_frozen() -> None:
    mrz = parse_mrz(SPECIMENS["TD3"], today=TODAY)
    with pytest.raises(AttributeError):
        mrz.surname = "X"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("lines", "code", "kind"),
    [
        (td1(code="IP", state="USA"), "IP", DocumentKind.PASSPORT_CARD),
        (td1(code="C1", state="USA"), "C1", DocumentKind.PERMANENT_RESIDENT_CARD),
        (td1(code="C2", state="USA"), "C2", DocumentKind.PERMANENT_RESIDENT_CARD),
        (td1(code="C1", state="CAN"), "C1", DocumentKind.OTHER),
        (td1(code="AC"), "AC", DocumentKind.OTHER),
        (td1(code="A<"), "A", DocumentKind.OTHER),
        (td1(code="ID", state="D<<"), "ID", DocumentKind.ID_CARD),
        (td2(code="IR"), "IR", DocumentKind.ID_CARD),
        (td2(code="AC"), "AC", DocumentKind.OTHER),
        (td3(code="PM"), "PM", DocumentKind.PASSPORT),
        (td3(code="PD"), "PD", DocumentKind.PASSPORT),
    ],
)
def test_document_kind_mapping(lines: tuple[str, ...], code: str, kind: DocumentKind) -> None:
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.document_code, mrz.kind) == (code, kind)


def test_short_issuing_state_is_returned_without_fillers() -> None:
    assert parse_mrz(td1(state="D<<"), today=TODAY).issuing_state == "D"


# --- check digits -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "field", "spans", "at"), ALL_CHECKS)
def test_each_altered_check_digit_is_named(
    name: str, field: str, spans: list[Span], at: tuple[int, int]
) -> None:
    line, position = at
    right = SPECIMENS[name][line - 1][position - 1]
    wrong = str((int(right) + 1) % 10)
    with pytest.raises(MRZCheckDigitError) as info:
        parse_mrz(replace(SPECIMENS[name], line, position, wrong), today=TODAY)
    message = str(info.value)
    assert message.startswith(f"{field} check digit (line {line}, position {position})")
    assert message.endswith(f"expected {right}, got {wrong}")
    assert (info.value.expected, info.value.got) == (int(right), wrong)


@pytest.mark.parametrize(
    ("name", "line", "position", "char", "field"),
    [
        ("TD3", 2, 2, "9", "document number"),  # L898902C3 -> L998902C3
        ("TD3", 2, 19, "3", "date of birth"),
        ("TD3", 2, 22, "2", "date of expiry"),
        ("TD3", 2, 30, "F", "personal number"),
        ("TD1", 1, 6, "E", "document number"),
        ("TD1", 1, 16, "X", "composite"),  # optional data has no digit of its own
        ("TD1", 2, 19, "X", "composite"),
        ("TD2", 2, 29, "X", "composite"),
        ("MRV-A", 2, 14, "5", "date of birth"),
        ("TD1-long", 1, 17, "9", "document number"),  # in the overflow part of the number
    ],
)
def test_an_altered_field_fails_its_check_digit(
    name: str, line: int, position: int, char: str, field: str
) -> None:
    assert SPECIMENS[name][line - 1][position - 1] != char
    with pytest.raises(MRZCheckDigitError, match=f"^{field} check digit"):
        parse_mrz(replace(SPECIMENS[name], line, position, char), today=TODAY)


def test_mrv_has_no_composite_so_optional_data_is_free() -> None:
    altered = replace(SPECIMENS["MRV-A"], 2, 30, "Q")
    assert parse_mrz(altered, today=TODAY).optional_data_1 == "6QE184226B"


def test_filler_instead_of_a_digit_is_a_check_digit_error() -> None:
    with pytest.raises(MRZCheckDigitError, match=r"^date of birth check digit .* expected 2, got <$"):
        parse_mrz(replace(SPECIMENS["TD3"], 2, 20, "<"), today=TODAY)
    # Outside TD1/TD2, a filler in the document number's check position is not the long-number sign.
    with pytest.raises(MRZCheckDigitError, match=r"^document number check digit .* expected 6, got <$"):
        parse_mrz(replace(SPECIMENS["TD3"], 2, 10, "<"), today=TODAY)


def test_personal_number_check_digit_may_be_a_filler_only_when_the_field_is_empty() -> None:
    filler = parse_mrz(td3(personal="", personal_check="<"), today=TODAY)
    zero = parse_mrz(td3(personal="", personal_check="0"), today=TODAY)
    assert filler.optional_data_1 == zero.optional_data_1 == ""
    assert filler.lines[1][42] == "<" and zero.lines[1][42] == "0"
    with pytest.raises(MRZCheckDigitError, match=r"^personal number check digit .* expected 0, got 1$"):
        parse_mrz(td3(personal="", personal_check="1"), today=TODAY)
    with pytest.raises(MRZCheckDigitError, match=r"^personal number check digit .* expected 1, got <$"):
        parse_mrz(td3(personal_check="<"), today=TODAY)


# --- long document numbers --------------------------------------------------------------------


def test_td1_long_document_number_with_optional_data_after_it() -> None:
    lines = td1(number="AB1234567890", optional_1="XY7")
    assert lines[0] == "I<UTOAB1234567<890" + str(icao_digit("AB1234567890")) + "<XY7<<<<<<<"
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.document_number, mrz.optional_data_1) == ("AB1234567890", "XY7")


def test_td2_long_document_number() -> None:
    lines = td2(number="AB12345678901")
    assert lines[1][9] == "<"
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.document_number, mrz.optional_data_1) == ("AB12345678901", "")


def test_long_document_number_check_covers_the_whole_number() -> None:
    # The digit the first 9 characters alone would give is not accepted at the overflow's end.
    nine = icao_digit("D23145890")
    assert nine != 9
    lines = replace(SPECIMENS["TD1-long"], 1, 19, str(nine))
    with pytest.raises(MRZCheckDigitError, match=r"^document number check digit \(line 1, position 19\)"):
        parse_mrz(lines, today=TODAY)


@pytest.mark.parametrize(
    "top",
    [
        "I<UTOD23145890<<<<<<<<<<<<<<<<",  # filler in the check position, nothing overflows
        "I<UTOD23145890<7<<<<<<<<<<<<<<",  # a check digit but no overflowing characters
        "I<UTOD23145890<73491234567890A",  # no filler ends the overflow
    ],
)
def test_long_number_sign_without_an_overflow_is_a_format_error(top: str) -> None:
    lines = (top, *SPECIMENS["TD1"][1:])
    with pytest.raises(MRZFormatError, match="document number overflows"):
        parse_mrz(lines, today=TODAY)


def test_short_number_with_filler_check_is_a_check_digit_error() -> None:
    lines = td1(number="D2314")
    lines = replace(lines, 1, 15, "<")
    with pytest.raises(MRZCheckDigitError, match=r"^document number check digit"):
        parse_mrz(lines, today=TODAY)


# --- shape and characters ---------------------------------------------------------------------

TD3_TOP, TD3_BOTTOM = SPECIMENS["TD3"]


@pytest.mark.parametrize(
    ("lines", "got"),
    [
        ([TD3_TOP, TD3_BOTTOM[:-1]], "2 line(s) of 44, 43 characters"),
        ([TD3_TOP], "1 line(s) of 44 characters"),
        ([TD3_TOP, TD3_BOTTOM, TD3_BOTTOM], "3 line(s) of 44, 44, 44 characters"),
        ([*SPECIMENS["TD1"], SPECIMENS["TD1"][2]], "4 line(s) of 30, 30, 30, 30 characters"),
        ([*SPECIMENS["TD1"][:2]], "2 line(s) of 30, 30 characters"),
        ([line + "<" for line in SPECIMENS["TD1"]], "3 line(s) of 31, 31, 31 characters"),
        ([*SPECIMENS["TD2"], SPECIMENS["TD2"][1]], "3 line(s) of 36, 36, 36 characters"),
        ([], "0 line(s) of none characters"),
        ("", "0 line(s) of none characters"),
    ],
)
def test_wrong_shape_is_a_format_error(lines: list[str] | str, got: str) -> None:
    with pytest.raises(MRZFormatError) as info:
        parse_mrz(lines, today=TODAY)
    message = str(info.value)
    assert "3 lines of 30 (TD1), 2 lines of 36 (TD2, MRV-B) or 2 lines of 44 (TD3, MRV-A)" in message
    assert message.endswith(f"got {got}")


@pytest.mark.parametrize(
    ("line", "position", "char"),
    [(1, 6, "e"), (2, 1, "l"), (2, 5, " "), (2, 14, "-"), (1, 7, "É"), (2, 44, "."), (1, 1, "p")],
)
def test_illegal_characters_are_named_with_line_and_position(line: int, position: int, char: str) -> None:
    lines = replace(SPECIMENS["TD3"], line, position, char)
    with pytest.raises(MRZFormatError) as info:
        parse_mrz(lines, today=TODAY)
    message = str(info.value)
    assert message.startswith(f"line {line}, position {position}: not an MRZ character")
    assert message.endswith(f"got {char!r}")
    assert ("lowercase" in message) == char.islower()


def test_lowercase_zone_is_not_silently_uppercased() -> None:
    with pytest.raises(MRZFormatError, match=r"^line 1, position 1: .*lowercase"):
        parse_mrz([line.lower() for line in SPECIMENS["TD3"]], today=TODAY)


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        (td3(sex="Q"), r"^sex \(line 2, position 21\)"),
        (td3(birth="741312"), r"^date of birth \(line 2, positions 14–19\) is not a calendar date"),
        (td3(expiry="120431"), r"^date of expiry \(line 2, positions 22–27\) is not a calendar date"),
        (td3(birth="74O812"), r"^date of birth .* is malformed"),
        (td3(expiry="12<<<<"), r"^date of expiry .* is malformed"),
        (td3(birth="<<0812"), r"^date of birth .* is malformed"),
        (td3(nationality="U1O"), r"^nationality \(line 2, positions 11–13\)"),
        (td3(state="<TO"), r"^issuing state \(line 1, positions 3–5\)"),
        (td3(code="1<"), r"^document code"),
        (td3(name="ERIKSS0N<<ANNA"), r"^name \(line 1, position 12\) holds a non-letter"),
        (td3(name=""), r"^name .* is empty"),
        (td3(number=""), r"^document number is empty"),
    ],
)
def test_malformed_fields_are_format_errors(lines: tuple[str, ...], match: str) -> None:
    with pytest.raises(MRZFormatError, match=match):
        parse_mrz(lines, today=TODAY)


def test_both_errors_are_document_errors() -> None:
    assert issubclass(MRZFormatError, DocumentError)
    assert issubclass(MRZCheckDigitError, DocumentError)


# --- names, sex, dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "surname", "given"),
    [
        ("VAN<DER<BERG<<JAN<PIETER", "VAN DER BERG", ("JAN", "PIETER")),
        ("MADONNA", "MADONNA", ()),
        ("ERIKSSON<<ANNA<MARIA<" + "K" * 18, "ERIKSSON", ("ANNA", "MARIA", "K" * 18)),  # fills all 39
    ],
)
def test_names(name: str, surname: str, given: tuple[str, ...]) -> None:
    mrz = parse_mrz(td3(name=name), today=TODAY)
    assert (mrz.surname, mrz.given_names) == (surname, given)


@pytest.mark.parametrize(("raw", "sex"), [("F", "F"), ("M", "M"), ("<", "X"), ("X", "X")])
def test_sex(raw: str, sex: str) -> None:
    assert parse_mrz(td3(sex=raw), today=TODAY).sex == sex


@pytest.mark.parametrize("birth", ["<<<<<<", "74<<<<", "7408<<"])
def test_unknown_birth_date_is_none(birth: str) -> None:
    lines = td3(birth=birth)
    assert lines[1][19] == str(icao_digit(birth))
    mrz = parse_mrz(lines, today=TODAY)
    assert mrz.birth_date is None
    assert mrz.expiry_date == date(2012, 4, 15)


def test_unknown_expiry_date_is_none() -> None:
    assert parse_mrz(td3(expiry="<<<<<<"), today=TODAY).expiry_date is None


@pytest.mark.parametrize(
    ("birth", "today", "expected"),
    [
        ("240601", date(2024, 6, 1), date(2024, 6, 1)),  # born today
        ("240602", date(2024, 6, 1), date(1924, 6, 2)),  # tomorrow is in the future: last century
        ("991231", date(2024, 6, 1), date(1999, 12, 31)),
        ("000101", date(2024, 6, 1), date(2000, 1, 1)),
        ("000229", date(2024, 6, 1), date(2000, 2, 29)),
        ("000229", date(2100, 3, 1), date(2000, 2, 29)),  # 2100 has no 29 February
        ("850315", date(2099, 1, 1), date(2085, 3, 15)),
    ],
)
def test_birth_century_is_the_latest_not_in_the_future(birth: str, today: date, expected: date) -> None:
    assert parse_mrz(td3(birth=birth), today=today).birth_date == expected


@pytest.mark.parametrize(
    ("expiry", "today", "expected"),
    [
        ("740601", date(2024, 6, 1), date(1974, 6, 1)),  # today − 50 years: inside
        ("740602", date(2024, 6, 1), date(1974, 6, 2)),
        ("740531", date(2024, 6, 1), date(2074, 5, 31)),  # just before today + 50 years: inside
        ("740601", date(2024, 6, 2), date(2074, 6, 1)),  # 1974-06-01 fell out of the window
        ("340101", date(2024, 6, 1), date(2034, 1, 1)),
        ("991231", date(2024, 6, 1), date(1999, 12, 31)),
        ("120415", date(2024, 6, 1), date(2012, 4, 15)),
        ("050101", date(2090, 1, 1), date(2105, 1, 1)),
    ],
)
def test_expiry_century_is_within_fifty_years(expiry: str, today: date, expected: date) -> None:
    assert parse_mrz(td3(expiry=expiry), today=today).expiry_date == expected


def test_today_may_be_a_datetime() -> None:
    mrz = parse_mrz(td3(birth="240601"), today=datetime(2024, 6, 1, 23, 59))
    assert mrz.birth_date == date(2024, 6, 1)


def test_today_defaults_to_the_current_date() -> None:
    mrz = parse_mrz(td3(birth="000101", expiry="<<<<<<"))
    assert mrz.birth_date == date(2000, 1, 1)


# --- privacy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SPECIMENS))
def test_repr_masks_the_document_number(name: str) -> None:
    mrz = parse_mrz(SPECIMENS[name], today=TODAY)
    number = mrz.document_number
    for text in (repr(mrz), str(mrz), f"{mrz}", repr([mrz])):
        assert number not in text
        assert number[:-1] not in text and number[1:] not in text
        assert f"'{'*' * (len(number) - 3)}{number[-3:]}'" in text
        assert mrz.surname not in text
        assert "1974" not in text and "1934" not in text and "1940" not in text  # no birth date


def test_hash_is_stable_keyed_and_holds_no_number() -> None:
    mrz = parse_mrz(SPECIMENS["TD3"], today=TODAY)
    digest = mrz.document_number_hash(KEY)
    assert digest == hmac.new(KEY, b"L898902C3", hashlib.sha256).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == parse_mrz(SPECIMENS["TD3"], today=date(2030, 1, 1)).document_number_hash(KEY)
    assert digest != mrz.document_number_hash(b"j" * 32)
    other = parse_mrz(td3(number="L898902C4"), today=TODAY)
    assert digest != other.document_number_hash(KEY)
    long = parse_mrz(SPECIMENS["TD1-long"], today=TODAY)
    assert long.document_number_hash(KEY) == hmac.new(KEY, b"D23145890734", hashlib.sha256).hexdigest()


def test_hash_refuses_a_short_key() -> None:
    mrz = parse_mrz(SPECIMENS["TD3"], today=TODAY)
    with pytest.raises(ConfigError, match="expected at least 16 bytes, got 15 bytes"):
        mrz.document_number_hash(b"k" * 15)


def test_errors_do_not_carry_the_document_number() -> None:
    with pytest.raises(MRZCheckDigitError) as info:
        parse_mrz(replace(SPECIMENS["TD3"], 2, 10, "7"), today=TODAY)
    assert "L898902C3" not in str(info.value)
