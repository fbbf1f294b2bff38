"""The lane's records edge: persist a processed vehicle, and search the records' galleries.

- :func:`enrol_gallery` files a gallery folder's people as travellers with their documents and
  sealed document-photo templates.
- :func:`gallery_from_records` builds the lane's reference gallery from the records: document
  photos (filed by the keyed hash of their number) and kept non-citizen encounter photos. Each
  bulk read is audited with the lane as actor and its stated purpose.
- :func:`record_vehicle` persists one processed vehicle: the best capture of each occupant
  (sealed, under the retention rules of the traveller's class), the fused template, and every
  decision. A confirmed occupant becomes a departure linked to the traveller's latest entry; a
  no-match or an occupant not captured waits for an officer and departs only if one confirms.
- :func:`process_and_record` joins them for one vehicle, idempotently
  (:func:`process_and_record_folder` for an encounter folder).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bioexit.detection.types import RGBImage
from bioexit.embedding.types import ModelInfo
from bioexit.encounters import Encounter
from bioexit.engine import FaceEngine
from bioexit.lane.frames import FrameInput, read_encounter, read_frames
from bioexit.lane.gallery import LaneGallery, entry_template, read_gallery_entries
from bioexit.lane.occupants import Observation, OccupantTrack
from bioexit.lane.pipeline import Analysis, LanePipeline, analyse
from bioexit.lane.result import VehicleResult
from bioexit.lane.store import ResultStore
from bioexit.records.store import RecordsStore
from bioexit.records.types import Acknowledgement, CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import Settings

LANE_ROLE = "lane-device"
LANE_PURPOSE = "departure check at the lane"
CAPTURE_MARGIN = 0.25  # of the face box on each side: the officer sees hair and chin line
CAPTURE_JPEG_QUALITY = 92


def lane_actor(port: str, lane: str) -> str:
    return f"lane:{port}/{lane}"


def enrol_gallery(folder: Path, store: RecordsStore, engine: FaceEngine, settings: Settings) -> int:
    """File each person of ``folder/gallery.json`` as a traveller with a document and its template.

    People already filed (by document number) are skipped, so enrolling twice adds nothing.
    Returns the number of travellers added.
    """
    added = 0
    for entry in read_gallery_entries(folder):
        if entry.kind != "document" or not entry.document_number:
            continue
        if store.find_document(entry.document_number) is not None:
            continue
        template = entry_template(folder, entry, engine, settings.images)
        traveller_id = entry.subject_id
        store.add_traveller(entry.citizenship, traveller_id=traveller_id)
        store.add_document(
            traveller_id,
            entry.document_kind or "other",
            entry.document_number,
            issuing_state=entry.issuing_state,
            template=template,
            photo=(folder / entry.photo).read_bytes(),  # decoded already: entry_template read it
        )
        added += 1
    return added


def gallery_from_records(
    store: RecordsStore,
    model: ModelInfo,
    *,
    actor: str,
    role: str = LANE_ROLE,
    purpose: str = LANE_PURPOSE,
) -> LaneGallery:
    """The lane's references from the records: document photos and kept encounter photos."""
    gallery = LaneGallery(model, number_key=store.document_number_hash)
    for document_id, traveller_id, number_hash, template in store.document_gallery_templates(
        model.key, actor=actor, role=role, purpose=purpose
    ):
        gallery.add(f"document:{document_id}", traveller_id, template, document_key=number_hash)
    for template_id, traveller_id, template in store.encounter_gallery_templates(
        model.key, actor=actor, role=role, purpose=purpose
    ):
        gallery.add(f"encounter:{template_id}", traveller_id, template)
    return gallery


def face_crop_jpeg(image: RGBImage, observation: Observation) -> bytes:
    """The face box with a margin, as JPEG: what is sealed and later shown to an officer."""
    d = observation.detection
    height, width = image.shape[:2]
    dx, dy = d.width * CAPTURE_MARGIN, d.height * CAPTURE_MARGIN
    x1, y1 = max(int(d.x1 - dx), 0), max(int(d.y1 - dy), 0)
    x2, y2 = min(int(np.ceil(d.x2 + dx)), width), min(int(np.ceil(d.y2 + dy)), height)
    crop = np.ascontiguousarray(image[y1:y2, x1:x2, ::-1])  # OpenCV encodes BGR
    ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, CAPTURE_JPEG_QUALITY])
    if not ok:  # only an empty crop can fail, and a detection is never empty
        raise ValueError(f"cannot encode a face crop of shape {crop.shape}")
    return bytes(encoded)


@dataclass(frozen=True)
class RecordedVehicle:
    result: VehicleResult
    acknowledgement: Acknowledgement


def record_vehicle(
    store: RecordsStore,
    encounter: Encounter,
    frames: Sequence[FrameInput],
    analysis: Analysis,
) -> Acknowledgement:
    """Persist one processed vehicle; returns only after the commit (see ``record_encounter``)."""
    result = analysis.result
    images = {frame.index: frame for frame in frames}
    captures: list[CaptureRecord] = []
    decisions: list[DecisionRecord] = []
    method = "1:1-document" if result.mode == "documents" else "1:N-gallery"
    tracks: Sequence[OccupantTrack] = analysis.finding.occupants
    for track, occupant in zip(tracks, result.occupants, strict=True):
        shown = track.captures[0] if track.captures else track.best_attempt
        capture_key = None
        if shown is not None:
            frame = images[shown.frame]
            assert frame.image is not None  # observations come from decoded frames only
            capture_key = occupant.occupant_id
            captures.append(
                CaptureRecord(
                    capture_key=capture_key,
                    image=face_crop_jpeg(frame.image, shown),
                    quality=float(shown.quality.unified),
                    captured_at=frame.ref.captured_at,
                    template=track.template if occupant.status != "not_captured" else None,
                    traveller_id=occupant.identity,
                    camera_id=shown.camera_id,
                )
            )
        decisions.append(
            DecisionRecord(
                decision_id=f"{result.encounter_id}/{occupant.occupant_id}",
                outcome=occupant.status,
                method=method,
                capture_key=capture_key,
                traveller_id=occupant.identity,
                score=occupant.score,
            )
        )
    record = EncounterRecord(
        result.encounter_id, result.port, result.lane, encounter.started_at, result.direction
    )
    return store.record_encounter(record, captures, decisions, actor=lane_actor(result.port, result.lane))


def process_and_record(
    encounter: Encounter,
    load_frames: Callable[[], Sequence[FrameInput]],
    store: RecordsStore,
    pipeline: LanePipeline,
    results: ResultStore | None = None,
) -> RecordedVehicle:
    """Process one vehicle against the records' galleries and record it.

    Idempotent on the encounter id: a vehicle recorded before is not recorded again (its own
    encounter photo may since have joined the gallery, so a second run could score differently);
    its stored acknowledgement comes back, with the stored result where ``results`` holds one.
    Frames are decoded (``load_frames``) only when there is work to do. The records commit comes
    first: the result file is a copy for the lane, not the record.
    """
    recorded = store.acknowledgement(encounter.encounter_id)
    stored = results.get(encounter.encounter_id) if results is not None else None
    if recorded is not None and stored is not None:
        return RecordedVehicle(stored, recorded)
    frames = load_frames()
    actor = lane_actor(encounter.port, encounter.lane)
    gallery = gallery_from_records(store, pipeline.engine.embedder.info, actor=actor)
    analysis = analyse(encounter, frames, gallery, pipeline)
    acknowledgement = recorded or record_vehicle(store, encounter, frames, analysis)
    result = analysis.result
    if results is not None:
        result, _ = results.put(result)
    return RecordedVehicle(result, acknowledgement)


def process_and_record_folder(
    folder: Path,
    store: RecordsStore,
    pipeline: LanePipeline,
    settings: Settings,
    results: ResultStore | None = None,
) -> RecordedVehicle:
    """:func:`process_and_record` for an encounter folder (``encounter.json`` and frame files)."""
    encounter = read_encounter(folder)
    return process_and_record(
        encounter, lambda: read_frames(folder, encounter, settings.images), store, pipeline, results
    )
