"""One probe against the traveller's galleries and the watchlists.

The decision comes from the traveller galleries alone (documents, encounters, a manifest):
a match names the subject; otherwise an officer decides. Watchlist hits only raise alerts
for a supervisor; they never change the decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bioexit.embedding.types import Template
from bioexit.errors import GalleryError
from bioexit.galleries.alerts import AlertQueue, Clock, WatchlistAlert, new_alert_id, utc_now
from bioexit.galleries.gallery import GalleryResult, NamedGallery

Decision = Literal["match", "officer"]


@dataclass(frozen=True, slots=True)
class Screening:
    decision: Decision
    subject_id: str | None
    gallery: str | None
    score: float | None
    results: tuple[GalleryResult, ...]
    alerts: tuple[WatchlistAlert, ...]


def screen(
    probe: Template,
    galleries: Sequence[NamedGallery],
    watchlists: Sequence[NamedGallery],
    alerts: AlertQueue,
    *,
    probe_ref: str,
    purpose: str,
    k: int = 5,
    clock: Clock = utc_now,
) -> Screening:
    if not purpose.strip():
        raise GalleryError("a search needs a stated purpose", expected="a purpose", got="none")
    for g in galleries:
        if g.kind == "watchlist":
            raise GalleryError("a watchlist cannot decide a lane", expected="a traveller gallery", got=g.name)
    for w in watchlists:
        if w.kind != "watchlist":
            raise GalleryError("not a watchlist", expected="kind watchlist", got=f"{w.name} ({w.kind})")

    results = tuple(g.identify(probe, k) for g in galleries if len(g))
    best = max(
        ((r, m) for r in results if (m := r.best_match) is not None),
        key=lambda pair: pair[1][2],
        default=None,
    )

    raised: list[WatchlistAlert] = []
    for watchlist in watchlists:
        if not len(watchlist):
            continue
        result = watchlist.identify(probe, k)
        hit = result.best_match
        if hit is None:
            continue
        entry, subject, score, rank = hit
        alert = WatchlistAlert(
            new_alert_id(),
            clock(),
            watchlist.name,
            entry,
            subject,
            score,
            rank,
            result.threshold.threshold,
            result.threshold.fpir_bound,
            probe_ref,
            purpose,
        )
        alerts.put(alert)
        raised.append(alert)

    if best is None:
        return Screening("officer", None, None, None, results, tuple(raised))
    result, (_, subject, score, _) = best
    return Screening("match", subject, result.gallery, score, results, tuple(raised))
