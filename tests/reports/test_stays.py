"""Stay rules: overstays, and the rolling 90-in-180 rule as the EU short-stay calculator counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bioexit.errors import BioexitError, StayError
from bioexit.reports.stays import (
    Overstay,
    RollingStatus,
    Stay,
    days_used,
    earliest_new_stay,
    first_breach,
    overstay,
    presence_days,
    rolling_status,
    stay_days,
)

D = date


def brute_used(stays: list[Stay], on: date, window: int = 180) -> int:
    """Independent count: walk every day of the window and ask whether any stay covers it."""
    count = 0
    for back in range(window):
        day = on - timedelta(days=back)
        if any(s.entry <= day <= (s.exit or on) for s in stays):
            count += 1
    return count


# --- overstays ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("until", "departed", "as_of", "expected"),
    [
        (D(2024, 1, 31), D(2024, 1, 31), D(2024, 3, 1), None),  # left on the last permitted day
        (D(2024, 1, 31), D(2024, 2, 1), D(2024, 3, 1), Overstay(1, ongoing=False)),
        (D(2024, 1, 31), D(2024, 1, 15), D(2024, 3, 1), None),
        (D(2024, 1, 31), None, D(2024, 1, 31), None),  # still within the admission
        (D(2024, 1, 31), None, D(2024, 2, 10), Overstay(10, ongoing=True)),
        (
            D(2024, 1, 31),
            D(2024, 3, 1),
            D(2024, 2, 10),
            Overstay(10, ongoing=True),
        ),  # departure not yet known
        (D(2024, 1, 31), D(2024, 2, 10), D(2024, 2, 10), Overstay(10, ongoing=False)),
        (D(2024, 2, 28), None, D(2024, 3, 1), Overstay(2, ongoing=True)),  # 29 Feb 2024 counts
        (None, None, D(2030, 1, 1), None),  # duration of status: no date to overstay
        (D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 2), None),  # admitted and left the same day
    ],
)
def test_overstay(until: date | None, departed: date | None, as_of: date, expected: Overstay | None) -> None:
    assert overstay(D(2024, 1, 1), until, departed, as_of) == expected


def test_overstay_refuses_contradictory_dates() -> None:
    with pytest.raises(StayError, match="admitted until a day before admission"):
        overstay(D(2024, 1, 10), D(2024, 1, 9), None, D(2024, 2, 1))
    with pytest.raises(StayError, match="departed before being admitted"):
        overstay(D(2024, 1, 10), D(2024, 2, 9), D(2024, 1, 9), D(2024, 2, 1))
    assert issubclass(StayError, BioexitError)


# --- counting days -----------------------------------------------------------------------------


def test_same_day_entry_and_exit_is_one_day() -> None:
    stay = Stay(D(2024, 5, 1), D(2024, 5, 1))
    assert stay_days(stay, D(2024, 12, 31)) == 1
    assert days_used([stay], D(2024, 5, 1)) == 1


def test_entry_and_exit_days_both_count() -> None:
    assert stay_days(Stay(D(2024, 5, 1), D(2024, 5, 3)), D(2024, 12, 31)) == 3
    # Leaving and coming back on the same day counts that day once.
    stays = [Stay(D(2024, 5, 1), D(2024, 5, 3)), Stay(D(2024, 5, 3), D(2024, 5, 4))]
    assert days_used(stays, D(2024, 5, 31)) == 4


def test_overlapping_stays_count_each_day_once() -> None:
    stays = [Stay(D(2024, 1, 1), D(2024, 1, 10)), Stay(D(2024, 1, 5), D(2024, 1, 12))]
    assert presence_days(stays, D(2024, 12, 31)) == list(
        range(D(2024, 1, 1).toordinal(), D(2024, 1, 12).toordinal() + 1)
    )
    assert days_used(stays, D(2024, 2, 1)) == 12


def test_window_is_the_180_days_ending_on_the_day_itself() -> None:
    on = D(2024, 7, 1)
    first_in = on - timedelta(days=179)
    assert days_used([Stay(first_in, first_in)], on) == 1
    assert days_used([Stay(first_in - timedelta(days=1), first_in - timedelta(days=1))], on) == 0
    assert days_used([Stay(on, on)], on) == 1
    assert days_used([Stay(on + timedelta(days=1), on + timedelta(days=5))], on) == 0  # the future


def test_open_stay_counts_up_to_the_day_looked_at() -> None:
    stays = [Stay(D(2024, 3, 1))]
    assert days_used(stays, D(2024, 3, 1)) == 1
    assert days_used(stays, D(2024, 3, 10)) == 10
    assert stay_days(stays[0], D(2024, 3, 10)) == 10


def test_rolling_status_at_and_beyond_the_limit() -> None:
    # 1 January to 30 March 2024 is exactly 90 days (2024 is a leap year).
    stays = [Stay(D(2024, 1, 1), D(2024, 3, 30))]
    assert rolling_status(stays, D(2024, 3, 30)) == RollingStatus(
        D(2024, 3, 30), used=90, remaining=0, over=0
    )
    assert rolling_status(stays, D(2024, 3, 15)).remaining == 15
    still_there = [Stay(D(2024, 1, 1))]
    assert rolling_status(still_there, D(2024, 3, 31)) == RollingStatus(D(2024, 3, 31), 91, 0, 1)
    # The first day falls out of the window on the 181st day: one day becomes free again.
    assert rolling_status(stays, D(2024, 6, 29)) == RollingStatus(
        D(2024, 6, 29), used=89, remaining=1, over=0
    )


# Short and long stays, a same-day one, two sharing a day, and one still open.
HISTORY = [
    Stay(D(2024, 1, 1), D(2024, 1, 20)),
    Stay(D(2024, 2, 10), D(2024, 2, 10)),
    Stay(D(2024, 3, 1), D(2024, 4, 15)),
    Stay(D(2024, 4, 15), D(2024, 4, 20)),
    Stay(D(2024, 9, 1), D(2024, 11, 30)),
    Stay(D(2025, 1, 5)),
]


@pytest.mark.parametrize("on", [D(2024, 1, 1) + timedelta(days=k) for k in range(0, 400, 13)])
def test_days_used_agrees_with_a_day_by_day_count(on: date) -> None:
    stays = HISTORY
    assert days_used(stays, on) == brute_used(stays, on)


def test_custom_rule_and_bad_rules() -> None:
    stays = [Stay(D(2024, 1, 1), D(2024, 1, 10))]
    assert days_used(stays, D(2024, 1, 20), window=15) == 5  # 6 … 20 January
    assert rolling_status(stays, D(2024, 1, 10), limit=7, window=30).over == 3
    with pytest.raises(StayError, match="bad rolling rule"):
        rolling_status(stays, D(2024, 1, 10), limit=200, window=180)
    with pytest.raises(StayError, match="bad rolling window"):
        days_used(stays, D(2024, 1, 10), window=0)


def test_exit_before_entry_is_refused() -> None:
    with pytest.raises(StayError, match="a stay ends before it starts"):
        Stay(D(2024, 1, 10), D(2024, 1, 9))


# --- earliest new stay -------------------------------------------------------------------------


def test_no_history_means_any_day() -> None:
    assert earliest_new_stay([], D(2024, 5, 5)) == D(2024, 5, 5)


def test_after_a_full_90_day_stay_the_next_full_stay_waits_90_days() -> None:
    stays = [Stay(D(2024, 1, 1), D(2024, 3, 30))]  # 90 days
    first = earliest_new_stay(stays, D(2024, 3, 31))
    assert first == D(2024, 6, 29)  # day 181 counted from the first entry
    # Checked day by day with the independent count: the day before would break the rule.
    for start, ok in ((first, True), (first - timedelta(days=1), False)):
        new = Stay(start, start + timedelta(days=89))
        worst = max(brute_used([*stays, new], new.entry + timedelta(days=k)) for k in range(90))
        assert (worst <= 90) is ok


def test_a_short_stay_fits_sooner() -> None:
    stays = [Stay(D(2024, 1, 1), D(2024, 3, 30))]
    # One day is freed when 1 January leaves the window: 29 June.
    assert earliest_new_stay(stays, D(2024, 4, 1), length=1) == D(2024, 6, 29)
    # After a 30-day stay, a 60-day stay may start the next day.
    assert earliest_new_stay([Stay(D(2024, 1, 1), D(2024, 1, 30))], D(2024, 1, 1), length=60) == D(
        2024, 1, 31
    )
    assert earliest_new_stay([Stay(D(2024, 1, 1), D(2024, 1, 30))], D(2024, 1, 1), length=61) > D(2024, 1, 31)


@pytest.mark.parametrize("length", [1, 10, 45, 90])
def test_earliest_new_stay_is_the_first_that_keeps_the_rule(length: int) -> None:
    stays = [
        Stay(D(2024, 1, 10), D(2024, 2, 20)),
        Stay(D(2024, 3, 5), D(2024, 4, 1)),
        Stay(D(2024, 5, 1), D(2024, 5, 15)),
    ]
    after = D(2024, 5, 16)
    found = earliest_new_stay(stays, after, length=length)

    def keeps(start: date) -> bool:
        new = Stay(start, start + timedelta(days=length - 1))
        return all(brute_used([*stays, new], start + timedelta(days=k)) <= 90 for k in range(length))

    assert keeps(found)
    day = after
    while day < found:
        assert not keeps(day), day
        day += timedelta(days=1)


def test_earliest_new_stay_refuses_open_stays_and_impossible_lengths() -> None:
    with pytest.raises(StayError, match="still open"):
        earliest_new_stay([Stay(D(2024, 1, 1))], D(2024, 2, 1))
    with pytest.raises(StayError, match="can never allow"):
        earliest_new_stay([], D(2024, 2, 1), length=91)
    with pytest.raises(StayError, match="can never allow"):
        earliest_new_stay([], D(2024, 2, 1), length=0)


def test_earliest_new_stay_starts_after_the_last_exit() -> None:
    stays = [Stay(D(2024, 1, 1), D(2024, 1, 5))]
    assert earliest_new_stay(stays, D(2024, 1, 3), length=10) == D(2024, 1, 6)


# --- first breach ------------------------------------------------------------------------------


def brute_first_breach(stays: list[Stay], until: date, limit: int = 90, window: int = 180) -> date | None:
    day = min((s.entry for s in stays), default=until + timedelta(days=1))
    while day <= until:
        if brute_used(stays, day, window) > limit:
            return day
        day += timedelta(days=1)
    return None


def test_first_breach_is_the_91st_day_in_the_window() -> None:
    # 60 days in, 30 out, then back for good: the 91st day inside 180 is day 120 (60 + 31).
    start = D(2024, 1, 1)
    trips = [Stay(start, start + timedelta(days=59)), Stay(start + timedelta(days=90))]
    assert first_breach(trips, D(2025, 1, 1)) == start + timedelta(days=120)
    assert first_breach(trips, start + timedelta(days=119)) is None  # not yet, by then
    assert first_breach([Stay(start, start + timedelta(days=89))], D(2025, 1, 1)) is None  # 90 is allowed
    assert first_breach([Stay(start, start + timedelta(days=90))], D(2025, 1, 1)) == start + timedelta(
        days=90
    )
    assert first_breach([], D(2025, 1, 1)) is None


def test_first_breach_counts_a_day_of_overlapping_stays_once() -> None:
    trips = [Stay(D(2024, 1, 1), D(2024, 3, 30)), Stay(D(2024, 3, 1), D(2024, 3, 30))]  # 90 distinct days
    assert first_breach(trips, D(2025, 1, 1)) is None
    assert first_breach([*trips, Stay(D(2024, 3, 31), D(2024, 3, 31))], D(2025, 1, 1)) == D(2024, 3, 31)


@pytest.mark.parametrize(("limit", "window"), [(90, 180), (14, 30), (2, 3), (45, 60)])
def test_first_breach_agrees_with_a_day_by_day_count(limit: int, window: int) -> None:
    stays = HISTORY
    for until in (D(2024, 1, 3), D(2024, 4, 30), D(2024, 10, 15), D(2025, 6, 1)):
        assert first_breach(stays, until, limit=limit, window=window) == brute_first_breach(
            stays, until, limit, window
        ), until


def test_first_breach_refuses_a_bad_rule() -> None:
    with pytest.raises(StayError, match="bad rolling rule"):
        first_breach([], D(2024, 1, 1), limit=180, window=90)
    with pytest.raises(StayError, match="bad rolling rule"):
        first_breach([], D(2024, 1, 1), limit=0)
