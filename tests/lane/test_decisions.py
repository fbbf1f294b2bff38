"""Decisions: one-to-one assignment to documents (more and fewer faces than documents), 1:N, statuses."""

from __future__ import annotations

from tests.lane.fakes import MATCHER, gallery, observation, template

from bioexit.encounters import DocumentRead
from bioexit.lane.decisions import decide_with_documents, decide_with_gallery
from bioexit.lane.occupants import OccupantTrack, Track


def occupant(person: int | None, *, captured: bool = True) -> OccupantTrack:
    face = observation(0, 100.0, 100.0, 80.0, passed=captured)
    probe = template(person, 0.05, seed=person) if person is not None and captured else None
    return OccupantTrack(
        tracks=(Track("cam", (face,)),),
        captures=(face,) if captured else (),
        best_attempt=None if captured else face,
        template=probe,
    )


def documents(*people: int) -> tuple[DocumentRead, ...]:
    return tuple(DocumentRead(source="card_reader", document_number=f"DOC{p:04d}") for p in people)


def test_more_faces_than_documents() -> None:
    occupants = [occupant(0), occupant(1), occupant(2)]
    decisions, unmatched = decide_with_documents(occupants, documents(2, 0), gallery(5), MATCHER)
    assert [d.status for d in decisions] == ["confirmed", "no_match", "confirmed"]
    assert [d.identity for d in decisions] == ["person-0", None, "person-2"]
    assert decisions[0].document == 1 and decisions[2].document == 0
    assert unmatched == []
    assert decisions[1].identity is None  # the undocumented occupant goes to an officer


def test_fewer_faces_than_documents() -> None:
    occupants = [occupant(3), occupant(1)]
    decisions, unmatched = decide_with_documents(occupants, documents(0, 1, 2, 3), gallery(5), MATCHER)
    assert [(d.status, d.identity, d.document) for d in decisions] == [
        ("confirmed", "person-3", 3),
        ("confirmed", "person-1", 1),
    ]
    assert unmatched == [0, 2]


def test_no_confirmation_below_the_threshold_even_when_assignment_is_forced() -> None:
    # Two occupants, two documents of other people: the assignment must not pair them anyway.
    decisions, unmatched = decide_with_documents(
        [occupant(0), occupant(1)], documents(2, 3), gallery(5), MATCHER
    )
    assert [d.status for d in decisions] == ["no_match", "no_match"]
    assert unmatched == [0, 1]
    assert all(d.score is not None and d.score < MATCHER.threshold for d in decisions)


def test_not_captured_and_unknown_document() -> None:
    unknown = DocumentRead(source="mrz", document_number="NOTKNOWN1")
    decisions, unmatched = decide_with_documents(
        [occupant(0, captured=False), occupant(1)], (unknown, *documents(1)), gallery(3), MATCHER
    )
    assert [d.status for d in decisions] == ["not_captured", "confirmed"]
    assert "quality" in decisions[0].reason
    assert unmatched == [0]


def test_gallery_identifies_and_never_confirms_one_person_twice() -> None:
    decisions = decide_with_gallery([occupant(0), occupant(0), occupant(4)], gallery(3), MATCHER)
    statuses = [d.status for d in decisions]
    assert sorted(statuses) == ["confirmed", "no_match", "no_match"]  # person 4 is not enrolled
    assert [d.identity for d in decisions if d.status == "confirmed"] == ["person-0"]
    assert decisions[2].status == "no_match"


def test_gallery_ambiguous_match_goes_to_an_officer() -> None:
    references = gallery(2)
    references.add("twin", "person-9", template(0, 0.01, seed=9))  # a second subject close to person 0
    decisions = decide_with_gallery([occupant(0)], references, MATCHER)
    assert decisions[0].status == "no_match"
    assert "more than one" in decisions[0].reason
