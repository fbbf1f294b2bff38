"""bench identify on real templates: floors on accuracy, and the distractors are what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.real_faces import real_faces

from bioexit.alignment import align
from bioexit.bench.gallery_synth import GalleryShape, SyntheticGallery, fit_clusters
from bioexit.bench.identify import run_identify_bench
from bioexit.embedding.dlib_onnx import DlibResnetOnnxEmbedder
from bioexit.matching import shipped_table


def test_synthetic_gallery_matches_its_fit() -> None:
    from bioexit.bench.gallery_synth import DLIB_FIT

    synth = SyntheticGallery(GalleryShape(size=4000, dim=128, per_identity=4), DLIB_FIT)
    rows = np.concatenate([r for _, r in synth.chunks()])
    assert rows.shape == (4000, 128)
    first = rows[:4]  # one identity
    within = np.linalg.norm(first[0] - first[1])
    assert 0.5 * DLIB_FIT.mean_within_distance < within < 1.6 * DLIB_FIT.mean_within_distance
    refit = fit_clusters(
        rows[: synth.shape.enrolled_rows], [str(i // 4) for i in range(synth.shape.enrolled_rows)]
    )
    assert refit.within_sd == pytest.approx(DLIB_FIT.within_sd, rel=0.05)
    assert refit.centre_sd == pytest.approx(DLIB_FIT.centre_sd, rel=0.1)


@pytest.mark.slow
def test_identify_bench_on_real_templates(faces_dir: Path) -> None:
    faces = real_faces(faces_dir)
    embedder = DlibResnetOnnxEmbedder()
    chips, identities = [], []
    for item, image, box in zip(faces.dataset.images, faces.images, faces.boxes, strict=True):
        if box is not None:
            chips.append(align(image, box.landmarks, embedder.info.crop))
            identities.append(item.identity)
    vectors = np.stack([t.vector for t in embedder.embed(chips)])
    fit = fit_clusters(vectors, identities)
    result = run_identify_bench(
        vectors, identities, [420], shipped_table(embedder.info), fit, nonmated_synthetic=500
    )
    at_420 = result["sizes"][0]
    assert at_420["gallery_size"] == 420 and at_420["synthetic_distractors"] == 420 - result["people"]
    assert at_420["rank1_rate"] >= 0.97
    calibrated = at_420["calibrated"]
    assert calibrated["extrapolated"] and calibrated["fpir_target"] == 0.003
    assert calibrated["tir"] >= 0.75  # measured 0.83: the extrapolated threshold is conservative
    assert calibrated["fpir_real_nonmated"]["false_positives"] <= 2
