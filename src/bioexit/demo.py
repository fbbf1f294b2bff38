"""``bioexit demo``: enrol one photo per person, identify everyone else, and the faces in group photos."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bioexit.bench.dataset import FaceDataset, read_dataset_image
from bioexit.bench.faces import Progress
from bioexit.engine import FaceEngine, build_matcher
from bioexit.matching import Gallery
from bioexit.settings import Settings


@dataclass(frozen=True, slots=True)
class DemoRow:
    probe: str
    true_identity: str | None  # None for faces in group photos (unlabelled)
    face: int  # index of the face within the photo
    candidate: str | None
    score: float | None
    decision: str  # "match", "no-match", "no-face"

    @property
    def correct(self) -> bool | None:
        if self.true_identity is None or self.decision == "no-face":
            return None
        if self.decision == "match":
            return self.candidate == self.true_identity
        return False


def run_demo(dataset: FaceDataset, settings: Settings, progress: Progress | None = None) -> dict[str, Any]:
    engine = FaceEngine.from_settings(settings)
    matcher = build_matcher(settings, engine.embedder.info)
    gallery = Gallery(engine.embedder.info)
    limits = settings.images

    probes = []
    enrolled: set[str] = set()
    rows: list[DemoRow] = []
    for step, item in enumerate(dataset.images):
        if progress:
            progress("enrolling", step + 1, len(dataset.images))
        if item.identity in enrolled:
            probes.append(item)
            continue
        face = engine.largest_face(read_dataset_image(item.path, limits))
        if face is None:
            probes.append(item)  # try the person's next photo as the reference
            continue
        gallery.add(str(item.path.relative_to(dataset.root)), item.identity, face.template)
        enrolled.add(item.identity)

    for step, item in enumerate(probes):
        if progress:
            progress("identifying", step + 1, len(probes))
        name = str(item.path.relative_to(dataset.root))
        face = engine.largest_face(read_dataset_image(item.path, limits))
        if face is None:
            rows.append(DemoRow(name, item.identity, 0, None, None, "no-face"))
            continue
        top = matcher.identify(face.template, gallery, k=1).candidates[0]
        decision = "match" if top.above_threshold else "no-match"
        rows.append(DemoRow(name, item.identity, 0, top.subject_id, round(top.score, 4), decision))

    for step, path in enumerate(dataset.groups):
        if progress:
            progress("group photos", step + 1, len(dataset.groups))
        for index, face in enumerate(engine.faces(read_dataset_image(path, limits))):
            top = matcher.identify(face.template, gallery, k=1).candidates[0]
            decision = "match" if top.above_threshold else "no-match"
            rows.append(
                DemoRow(f"groups/{path.name}", None, index, top.subject_id, round(top.score, 4), decision)
            )

    labelled = [r for r in rows if r.true_identity is not None]
    return {
        "enrolled": len(gallery),
        "fmr": matcher.fmr,
        "threshold": round(matcher.threshold, 4),
        "probes": len(labelled),
        "correct_matches": sum(r.correct is True for r in labelled),
        "false_matches": sum(r.decision == "match" and r.correct is False for r in labelled),
        "no_matches": sum(r.decision == "no-match" for r in labelled),
        "no_face": sum(r.decision == "no-face" for r in labelled),
        "group_faces": sum(r.true_identity is None for r in rows),
        "group_faces_matched": sum(r.true_identity is None and r.decision == "match" for r in rows),
        "rows": [asdict(r) | {"correct": r.correct} for r in rows],
    }
