"""On real photos: a non-citizen's second crossing is identified against the first crossing's
encounter photo, kept (sealed) by the records store and rebuilt into a gallery from it."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from bioexit.audit.chain import AuditAction
from bioexit.clock import FakeClock
from bioexit.crypto import StaticKeyProvider
from bioexit.embedding.types import Template
from bioexit.engine import FaceEngine, build_matcher
from bioexit.records.gallery import MemoryEncounterGallery
from bioexit.records.retention import Sweeper
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig, Settings

from .conftest import T0

PEOPLE = 8


@cache
def crossings(faces: Path) -> tuple[list[tuple[str, bytes, Template]], list[tuple[str, bytes, Template]]]:
    """(first crossing, second crossing) per person: the face crop as JPEG and its template."""
    from bioexit.imaging import read_image

    by_person: dict[str, list[Path]] = defaultdict(list)
    with open(faces / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            by_person[row["identity"]].append(faces / row["path"])
    engine = FaceEngine.from_settings(Settings())
    first, second = [], []
    for identity in sorted(p for p, photos in by_person.items() if len(photos) >= 2)[:PEOPLE]:
        for target, path in ((first, by_person[identity][0]), (second, by_person[identity][1])):
            image = read_image(path, limits=Settings().images)
            face = engine.largest_face(image)
            assert face is not None, f"no face in {path.name}"
            d = face.detection
            crop = Image.fromarray(image[max(int(d.y1), 0) : int(d.y2), max(int(d.x1), 0) : int(d.x2)])
            buffer = io.BytesIO()
            crop.save(buffer, "JPEG", quality=90)
            target.append((identity, buffer.getvalue(), face.template))
    return first, second


@pytest.mark.slow
def test_second_crossing_matches_the_first_crossings_encounter_photo_on_real_faces(
    faces_dir: Path, records_config: RecordsConfig, clock: FakeClock, provider: StaticKeyProvider
) -> None:
    first, second = crossings(faces_dir)
    model = FaceEngine.from_settings(Settings()).embedder.info
    with RecordsStore.open(records_config, clock=clock, provider=provider) as store:
        travellers = {}
        for index, (identity, jpeg, template) in enumerate(first):
            travellers[identity] = store.add_traveller("non_citizen")
            store.record_encounter(
                EncounterRecord(f"first-{index}", "P1", "L1", T0),
                [CaptureRecord("occ-0", jpeg, 0.9, T0, template)],
                [DecisionRecord(f"f{index}-d", "confirmed", "1:1-document", "occ-0", travellers[identity])],
            )
        clock.advance(timedelta(days=2))  # days later, after sweeps: kept, unlike a citizen's
        Sweeper(store).sweep()
        gallery = MemoryEncounterGallery(model)
        for entry_id, subject, template in store.encounter_gallery_templates(
            model.key, actor="lane:P1/L2", role="lane", purpose="exit confirmation of a vehicle occupant"
        ):
            gallery.add(entry_id, subject, template)
        assert len(gallery) == PEOPLE
        matcher = build_matcher(Settings(), model, fmr=1e-3)
        correct = 0
        for identity, _jpeg, probe in second:
            result = store.audited_search(
                action=AuditAction.IDENTIFY_1_N,
                actor="lane:P1/L2",
                role="lane",
                purpose="exit confirmation of a vehicle occupant",
                subject_ref=store.ref("encounter", f"second-{identity}"),
                search=lambda probe=probe: matcher.identify(probe, gallery.gallery, k=1),  # type: ignore[misc]
                outcome=lambda r: "match" if r.matches else "no_match",
            )
            top = result.candidates[0]
            correct += int(top.subject_id == travellers[identity] and top.above_threshold)
        print(f"\nreal faces: {correct}/{PEOPLE} second crossings matched their first crossing at FMR 1e-3")
        assert correct >= PEOPLE - 1, f"{correct}/{PEOPLE} second crossings matched their first"
