"""Named, scoped galleries: documents, encounters, a flight's manifest, a watchlist.

Each is a :class:`bioexit.matching.Gallery` (entry → subject, over a vector index) with a
name, a kind, its own FPIR target and so its own threshold for its current size. It lives
in ``<state_dir>/galleries/<name>/``: ``gallery.json`` (kind, model, entry → subject,
closed) and the index. A closed gallery has dropped its vectors and refuses searches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bioexit.embedding.types import ModelInfo, Template
from bioexit.errors import GalleryClosedError, GalleryError
from bioexit.galleries.index import open_index
from bioexit.galleries.thresholds import GalleryThreshold, fpir_threshold
from bioexit.matching import Gallery, Identification, Matcher
from bioexit.matching.calibration import CalibrationTable
from bioexit.settings import GalleriesConfig, GalleryKind

KINDS: tuple[GalleryKind, ...] = ("documents", "encounters", "manifest", "watchlist")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True, slots=True)
class GalleryResult:
    """A 1:N search of one gallery: which gallery, its candidates (entry, subject, score, rank),
    and the threshold with the FPIR it holds at the gallery's size."""

    gallery: str
    kind: GalleryKind
    identification: Identification
    threshold: GalleryThreshold

    @property
    def best_match(self) -> tuple[str, str, float, int] | None:
        """(entry, subject, score, rank) of the top candidate at or above the threshold."""
        matches = self.identification.matches
        if not matches:
            return None
        top = matches[0]
        return top.entry_id, top.subject_id, top.score, top.rank

    def as_dict(self) -> dict[str, Any]:
        return {
            "gallery": self.gallery,
            "kind": self.kind,
            "threshold": self.threshold.as_dict(),
            "fpir": self.threshold.fpir_bound,
            "candidates": [
                {
                    "entry": c.entry_id,
                    "subject": c.subject_id,
                    "score": round(c.score, 6),
                    "rank": c.rank,
                    "match": c.above_threshold,
                }
                for c in self.identification.candidates
            ],
        }


class NamedGallery:
    def __init__(
        self,
        name: str,
        kind: GalleryKind,
        gallery: Gallery,
        table: CalibrationTable,
        config: GalleriesConfig,
        directory: Path,
        closed: bool = False,
    ) -> None:
        self.name = name
        self.kind: GalleryKind = kind
        self.gallery = gallery
        self.table = table
        self.config = config
        self.directory = directory
        self.closed = closed

    @property
    def model(self) -> ModelInfo:
        return self.gallery.model

    @property
    def fpir(self) -> float:
        return self.config.fpir.of(self.kind)

    def __len__(self) -> int:
        return len(self.gallery)

    def _open(self) -> None:
        if self.closed:
            raise GalleryClosedError(
                f"gallery {self.name!r} is closed", expected="an open gallery", got="closed"
            )

    def threshold(self) -> GalleryThreshold:
        """The threshold for the gallery's current size at its kind's FPIR."""
        return fpir_threshold(self.table, self.fpir, len(self.gallery), self.config.min_fmr)

    def enrol(self, entries: Sequence[tuple[str, str, Template]]) -> None:
        """Add (entry id, subject id, template) entries and persist."""
        self._open()
        self.gallery.add_many(entries)
        self.save()

    def add(self, entry_id: str, subject_id: str, template: Template) -> None:
        """Add one entry; an entry already held is left as it is (a replayed add after a rebuild).

        With ``remove``, this fits the records' ``GalleryIndex`` protocol."""
        self._open()
        if not self.gallery.has(entry_id):
            self.enrol([(entry_id, subject_id, template)])

    def remove(self, entry_ids: Sequence[str]) -> int:
        """Remove entries, leaving no vector behind, and persist; returns how many were held.

        Ids not held are skipped, so a retention sweep that runs again can repeat a removal."""
        self._open()
        present = [e for e in dict.fromkeys(entry_ids) if self.gallery.has(e)]
        if present:
            self.gallery.remove_many(present)
            self.save()
        return len(present)

    def identify(self, probe: Template, k: int = 5) -> GalleryResult:
        return self.identify_many([probe], k)[0]

    def identify_many(self, probes: Sequence[Template], k: int = 5) -> list[GalleryResult]:
        """1:N for each probe at the gallery's FPIR-calibrated threshold (one batched index search)."""
        self._open()
        threshold = self.threshold()
        matcher = Matcher(self.table, threshold.fmr, threshold.threshold)
        found = self.gallery.search_many(probes, k)
        return [
            GalleryResult(self.name, self.kind, matcher.candidates(hits, len(self.gallery)), threshold)
            for hits in found
        ]

    def close(self) -> None:
        """Close for good: every vector is deleted; the gallery then refuses searches."""
        self._open()
        self.gallery.index.drop()
        self.closed = True
        self.save()

    def save(self) -> None:
        if not self.closed:
            self.gallery.index.save()
        body = {
            "name": self.name,
            "kind": self.kind,
            "model": self.model.key,
            "closed": self.closed,
            "entries": {} if self.closed else self.gallery.entries(),
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        staged = self.directory / "gallery.json.tmp"
        staged.write_text(json.dumps(body) + "\n", encoding="utf-8")
        os.replace(staged, self.directory / "gallery.json")


def _directory(config: GalleriesConfig, name: str) -> Path:
    if not NAME.fullmatch(name):
        raise GalleryError("bad gallery name", expected="letters, digits, '_', '.', '-' (≤ 100)", got=name)
    return config.state_dir / "galleries" / name


def _index(config: GalleriesConfig, directory: Path, name: str, model: ModelInfo) -> Gallery:
    collection = "bioexit_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
    return Gallery(model, open_index(config.index, directory / "index", collection, model.dim, model.metric))


def create_gallery(
    config: GalleriesConfig, name: str, kind: GalleryKind, model: ModelInfo, table: CalibrationTable
) -> NamedGallery:
    directory = _directory(config, name)
    if kind not in KINDS:
        raise GalleryError("unknown gallery kind", expected=" | ".join(KINDS), got=kind)
    if (directory / "gallery.json").exists():
        raise GalleryError("gallery exists", expected="a new gallery name", got=name)
    table.require_model(model)
    named = NamedGallery(name, kind, _index(config, directory, name, model), table, config, directory)
    named.save()
    return named


def open_gallery(
    config: GalleriesConfig, name: str, model: ModelInfo, table: CalibrationTable
) -> NamedGallery:
    directory = _directory(config, name)
    try:
        body = json.loads((directory / "gallery.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GalleryError("unknown gallery", expected="a created gallery", got=name) from exc
    except (OSError, ValueError) as exc:
        raise GalleryError("gallery file is damaged", expected="readable gallery.json", got=str(exc)) from exc
    if body["model"] != model.key:
        raise GalleryError("gallery holds templates of another model", expected=model.key, got=body["model"])
    table.require_model(model)
    if body["closed"]:
        return NamedGallery(name, body["kind"], Gallery(model), table, config, directory, closed=True)
    gallery = _index(config, directory, name, model)
    gallery.restore_subjects(body["entries"])
    return NamedGallery(name, body["kind"], gallery, table, config, directory)
