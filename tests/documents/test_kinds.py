"""Document kinds: derived from the zone, or stated by the caller and checked against KIND_RULES."""

from __future__ import annotations

from datetime import date

import pytest
from tests.documents.test_mrz import SPECIMENS, replace, td1, td2, td3

from bioexit.documents import KIND_RULES, DocumentKind, parse_mrz
from bioexit.errors import DocumentError, DocumentKindError, MRZCheckDigitError

TODAY = date(2024, 6, 1)


def test_every_kind_has_a_rule_and_the_issue_kinds_exist() -> None:
    assert set(KIND_RULES) == set(DocumentKind)
    for name in ("passport", "passport-card", "visa", "permanent-resident-card", "border-crossing-card"):
        assert DocumentKind(name) in KIND_RULES


@pytest.mark.parametrize(
    ("kind", "formats"),
    [
        (DocumentKind.PASSPORT, {"TD3"}),
        (DocumentKind.PASSPORT_CARD, {"TD1"}),
        (DocumentKind.VISA, {"MRV-A", "MRV-B"}),
        (DocumentKind.PERMANENT_RESIDENT_CARD, {"TD1"}),
        (DocumentKind.BORDER_CROSSING_CARD, {"TD1"}),
        (DocumentKind.ID_CARD, {"TD1", "TD2"}),
    ],
)
def test_expected_formats(kind: DocumentKind, formats: set[str]) -> None:
    assert KIND_RULES[kind].formats == formats


@pytest.mark.parametrize(
    ("lines", "kind"),
    [
        (SPECIMENS["TD3"], DocumentKind.PASSPORT),
        (SPECIMENS["MRV-A"], DocumentKind.VISA),
        (SPECIMENS["MRV-B"], DocumentKind.VISA),
        (td1(code="IP", state="USA"), DocumentKind.PASSPORT_CARD),
        (td1(code="C1", state="USA"), DocumentKind.PERMANENT_RESIDENT_CARD),
        (SPECIMENS["TD1"], DocumentKind.ID_CARD),
        (SPECIMENS["TD2"], DocumentKind.ID_CARD),
    ],
)
def test_derived_kind_and_stating_it_again_agree(lines: tuple[str, ...], kind: DocumentKind) -> None:
    assert parse_mrz(lines, today=TODAY).kind is kind
    assert parse_mrz(lines, today=TODAY, kind=kind).kind is kind


@pytest.mark.parametrize(
    ("lines", "kind"),
    [
        # Card kinds the zone cannot tell apart from an ID card: the caller knows better.
        (SPECIMENS["TD1"], DocumentKind.BORDER_CROSSING_CARD),
        (td1(code="C1", state="USA"), DocumentKind.PERMANENT_RESIDENT_CARD),
        (td1(code="IR", state="GBR"), DocumentKind.PERMANENT_RESIDENT_CARD),
        (SPECIMENS["TD1"], DocumentKind.PASSPORT_CARD),
        (td1(code="AC"), DocumentKind.OTHER),
    ],
)
def test_stated_kind_refines_an_indefinite_one(lines: tuple[str, ...], kind: DocumentKind) -> None:
    assert parse_mrz(lines, today=TODAY, kind=kind).kind is kind


@pytest.mark.parametrize(
    ("lines", "kind", "message"),
    [
        (
            SPECIMENS["TD1"],
            DocumentKind.PASSPORT,
            "a passport does not carry a TD1 zone: expected TD3, got TD1",
        ),
        (SPECIMENS["TD2"], DocumentKind.BORDER_CROSSING_CARD, "expected TD1, got TD2"),
        (SPECIMENS["TD3"], DocumentKind.VISA, "expected MRV-A or MRV-B, got TD3"),
        (SPECIMENS["MRV-B"], DocumentKind.ID_CARD, "expected TD1 or TD2, got MRV-B"),
        (SPECIMENS["TD3"], DocumentKind.PASSPORT_CARD, "expected TD1, got TD3"),
        (td2(code="AC"), DocumentKind.PERMANENT_RESIDENT_CARD, "expected TD1, got TD2"),
        (td3(code="I<"), DocumentKind.PASSPORT, "a passport does not have document code 'I'"),
        (SPECIMENS["TD3"], DocumentKind.OTHER, "the zone says passport (document code 'P'), not other"),
        (td1(code="P<"), DocumentKind.ID_CARD, "expected a code starting with A or C or I, got P"),
        (
            td1(code="IP", state="USA"),
            DocumentKind.BORDER_CROSSING_CARD,
            "the zone says passport-card (document code 'IP'), not border-crossing-card",
        ),
        (
            td1(code="C1", state="USA"),
            DocumentKind.ID_CARD,
            "expected permanent-resident-card, got id-card",
        ),
    ],
)
def test_stated_kind_that_does_not_fit_is_a_kind_error(
    lines: tuple[str, ...], kind: DocumentKind, message: str
) -> None:
    with pytest.raises(DocumentKindError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mrz(lines, today=TODAY, kind=kind)


def test_check_digits_are_verified_before_the_kind() -> None:
    with pytest.raises(MRZCheckDigitError):
        parse_mrz(replace(SPECIMENS["TD1"], 2, 30, "0"), today=TODAY, kind=DocumentKind.PASSPORT)


def test_kind_error_is_a_document_error() -> None:
    assert issubclass(DocumentKindError, DocumentError)
