"""Airport gate mode: a flight's manifest gallery, boarding photos searched 1:N, then close.

Following NIST's paperless-travel setup, the gallery is the few hundred travellers on one
flight and the threshold holds FPIR at ``galleries.fpir.manifest`` (0.003) for its size.

Manifest file (CSV or JSON); photo paths are relative to the manifest's folder::

    traveller_id,document_photo
    T001,photos/t001.jpg

    {"flight": "XY123", "travellers": [{"traveller_id": "T001", "document_photo": "photos/t001.jpg"}]}

State lives in ``<state_dir>/gates/<flight>/``: ``state.json`` (who is enrolled, when the
gate opened and closed), ``events.jsonl`` (one line per boarding photo, fsynced) and, after
close, ``report.json``. Closing deletes every template of the flight.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bioexit.embedding.types import ModelInfo, Template
from bioexit.errors import BioexitError, GalleryClosedError, GalleryError, ManifestError
from bioexit.galleries.alerts import Clock, utc_now
from bioexit.galleries.gallery import NamedGallery, create_gallery, open_gallery
from bioexit.matching.calibration import CalibrationTable
from bioexit.settings import GalleriesConfig

PhotoEmbedder = Callable[[Path], Template | None]  # the largest face's template, None if no face
FLIGHT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
TRAVELLER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    traveller_id: str
    document_photo: Path


@dataclass(frozen=True, slots=True)
class Manifest:
    flight: str | None
    travellers: tuple[ManifestEntry, ...]


def load_manifest(path: Path) -> Manifest:
    """Read a CSV or JSON manifest; ManifestError names the first problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError("cannot read manifest", expected="a readable UTF-8 file", got=str(path)) from exc
    flight: str | None = None
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".json":
        try:
            body = json.loads(text)
            flight = body.get("flight")
            rows = list(body["travellers"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ManifestError(
                f"{path} is not a manifest",
                expected='{"travellers": [{"traveller_id", "document_photo"}]}',
                got=str(exc),
            ) from exc
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = {"traveller_id", "document_photo"} - set(reader.fieldnames or [])
        if missing:
            raise ManifestError(
                f"{path} lacks columns",
                expected="traveller_id,document_photo",
                got=",".join(reader.fieldnames or []),
            )
        rows = list(reader)
    else:
        raise ManifestError("unknown manifest format", expected=".csv or .json", got=path.suffix or path.name)
    if not rows:
        raise ManifestError(f"{path} lists no travellers", expected="at least one", got="0")
    entries: list[ManifestEntry] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ManifestError(f"{path}: traveller {number} is not an object", expected="an object", got=row)
        traveller, photo = str(row.get("traveller_id") or ""), str(row.get("document_photo") or "")
        if not TRAVELLER.fullmatch(traveller):
            raise ManifestError(
                f"{path}: traveller {number} has a bad id", expected=TRAVELLER.pattern, got=traveller
            )
        if traveller in seen:
            raise ManifestError(
                f"{path}: traveller listed twice", expected="unique traveller ids", got=traveller
            )
        seen.add(traveller)
        photo_path = path.parent / photo
        if not photo or not photo_path.is_file():
            raise ManifestError(
                f"{path}: no document photo for {traveller}", expected="an existing file", got=photo
            )
        entries.append(ManifestEntry(traveller, photo_path))
    return Manifest(str(flight) if flight is not None else None, tuple(entries))


def _write_json(path: Path, body: dict[str, Any]) -> None:
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    os.replace(staged, path)


class Gate:
    def __init__(
        self, config: GalleriesConfig, flight: str, state: dict[str, Any], gallery: NamedGallery, clock: Clock
    ) -> None:
        self.config = config
        self.flight = flight
        self.state = state
        self.gallery = gallery
        self.clock = clock

    @staticmethod
    def directory(config: GalleriesConfig, flight: str) -> Path:
        if not FLIGHT.fullmatch(flight):
            raise GalleryError("bad flight id", expected=FLIGHT.pattern, got=flight)
        return config.state_dir / "gates" / flight

    @classmethod
    def open(
        cls,
        config: GalleriesConfig,
        flight: str,
        manifest: Manifest,
        embed: PhotoEmbedder,
        model: ModelInfo,
        table: CalibrationTable,
        clock: Clock = utc_now,
    ) -> Gate:
        directory = cls.directory(config, flight)
        if (directory / "state.json").exists():
            raise GalleryError(f"flight {flight} already has a gate", expected="a new flight id", got=flight)
        if manifest.flight is not None and manifest.flight != flight:
            raise ManifestError("manifest is for another flight", expected=flight, got=manifest.flight)
        travellers: dict[str, dict[str, Any]] = {}
        entries: list[tuple[str, str, Template]] = []
        for item in manifest.travellers:
            try:
                template = embed(item.document_photo)
                reason = None if template is not None else "no face in the document photo"
            except BioexitError as exc:  # one bad photo must not stop boarding: the officer sees it
                template, reason = None, f"{type(exc).__name__}: {exc}"
            travellers[item.traveller_id] = {"enrolled": template is not None, "reason": reason}
            if template is not None:
                entries.append((item.traveller_id, item.traveller_id, template))
        if not entries:
            raise ManifestError(
                "no traveller could be enrolled", expected="one face per document photo", got="none"
            )
        gallery = create_gallery(config, f"manifest-{flight}", "manifest", model, table)
        gallery.enrol(entries)
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            "flight": flight,
            "opened_at": clock().isoformat(),
            "closed_at": None,
            "gallery": gallery.name,
            "travellers": travellers,
        }
        _write_json(directory / "state.json", state)
        return cls(config, flight, state, gallery, clock)

    @classmethod
    def load(
        cls,
        config: GalleriesConfig,
        flight: str,
        model: ModelInfo,
        table: CalibrationTable,
        clock: Clock = utc_now,
    ) -> Gate:
        directory = cls.directory(config, flight)
        try:
            state = json.loads((directory / "state.json").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise GalleryError(
                "no gate for this flight", expected="`bioexit gate open` first", got=flight
            ) from exc
        return cls(config, flight, state, open_gallery(config, state["gallery"], model, table), clock)

    @property
    def closed(self) -> bool:
        return self.state["closed_at"] is not None

    def _require_open(self) -> None:
        if self.closed:
            raise GalleryClosedError(
                f"flight {self.flight} is closed",
                expected="an open gate",
                got=f"closed at {self.state['closed_at']}",
            )

    def process(self, photos: Sequence[Path], embed: PhotoEmbedder) -> list[dict[str, Any]]:
        """Search each boarding photo's largest face 1:N; record a departure or a no-match."""
        self._require_open()
        events = []
        for photo in photos:
            event: dict[str, Any] = {"photo": str(photo), "at": self.clock().isoformat()}
            try:
                template = embed(photo)
            except BioexitError as exc:
                template = None
                event.update(outcome="unreadable", reason=f"{type(exc).__name__}: {exc}")
            if template is None:
                event.setdefault("outcome", "no-face")
            else:
                result = self.gallery.identify(template, k=3)
                top = result.identification.candidates[0]
                event.update(
                    outcome="departed" if top.above_threshold else "no-match",
                    traveller_id=top.subject_id if top.above_threshold else None,
                    best_score=round(top.score, 6),
                    rank=top.rank,
                    threshold=round(result.threshold.threshold, 6),
                    fpir=result.threshold.fpir_bound,
                )
            events.append(event)
            self._append(event)
        return events

    def _append(self, event: dict[str, Any]) -> None:
        with (self.directory(self.config, self.flight) / "events.jsonl").open(
            "a", encoding="utf-8"
        ) as handle:
            handle.write(json.dumps(event) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def events(self) -> list[dict[str, Any]]:
        path = self.directory(self.config, self.flight) / "events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def close(self) -> dict[str, Any]:
        """Close the gate: departures and not-seen per traveller, no-matches for an officer.
        Every template of the flight is deleted."""
        self._require_open()
        threshold = self.gallery.threshold()
        self.gallery.close()
        self.state["closed_at"] = self.clock().isoformat()
        _write_json(self.directory(self.config, self.flight) / "state.json", self.state)
        events = self.events()
        first: dict[str, dict[str, Any]] = {}
        for event in events:
            if event["outcome"] == "departed":
                first.setdefault(event["traveller_id"], event)
        departures = []
        for traveller, info in self.state["travellers"].items():
            seen = first.get(traveller)
            status = "departed" if seen else ("not-seen" if info["enrolled"] else "not-enrolled")
            row: dict[str, Any] = {"traveller_id": traveller, "status": status}
            if seen:
                row.update(photo=seen["photo"], at=seen["at"], score=seen["best_score"])
            if info["reason"]:
                row["reason"] = info["reason"]
            departures.append(row)
        report = {
            "flight": self.flight,
            "opened_at": self.state["opened_at"],
            "closed_at": self.state["closed_at"],
            "threshold": threshold.as_dict(),
            "departures": departures,
            "for_officer": [e for e in events if e["outcome"] != "departed"],
            "counts": {
                "travellers": len(departures),
                "departed": sum(d["status"] == "departed" for d in departures),
                "not_seen": sum(d["status"] == "not-seen" for d in departures),
                "not_enrolled": sum(d["status"] == "not-enrolled" for d in departures),
                "photos": len(events),
                "for_officer": sum(e["outcome"] != "departed" for e in events),
            },
        }
        _write_json(self.directory(self.config, self.flight) / "report.json", report)
        return report
