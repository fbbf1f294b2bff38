from __future__ import annotations

import json

import numpy as np
import pytest

from bioexit.alignment import ARCFACE_112
from bioexit.embedding import ModelInfo, Template, similarity
from bioexit.embedding.dlib_resnet import DLIB_RESNET_INFO
from bioexit.errors import CalibrationError, GalleryError, ModelMismatchError, UnsupportedFMRError
from bioexit.matching import CalibrationTable, Gallery, Matcher, shipped_table
from bioexit.matching.calibration import MIN_EVENTS

INFO = ModelInfo("toy", "1", 3, "cosine", ARCFACE_112)


def template(*values: float, model: ModelInfo = INFO) -> Template:
    return Template(np.array(values, np.float32), model.model_id, model.version, model.metric)


def table_from_uniform(n: int) -> CalibrationTable:
    # Impostor scores 0, 1/n, ..., (n-1)/n: the FMR at threshold t is about 1 - t.
    return CalibrationTable.from_scores(INFO, np.arange(n) / n)


def test_threshold_admits_at_most_fmr_times_n_impostors() -> None:
    scores = np.random.default_rng(3).normal(size=20_000)
    table = CalibrationTable.from_scores(INFO, scores)
    for fmr in (1e-2, 1e-3):
        threshold = table.threshold(fmr)
        assert np.sum(scores >= threshold) <= fmr * len(scores)
        assert np.sum(scores >= threshold) >= fmr * len(scores) - 1
        assert table.fmr_at(threshold) <= fmr


def test_fmr_outside_range_or_unsupported_by_the_pairs_is_refused() -> None:
    table = table_from_uniform(10_000)
    with pytest.raises(UnsupportedFMRError, match=r"expected 1e-05 … 0.01"):
        table.threshold(0.05)
    needed = int(MIN_EVENTS / 1e-4)
    with pytest.raises(UnsupportedFMRError, match=f"at least {needed:,} impostor pairs") as info:
        table.threshold(1e-4)
    assert "10,000" in str(info.value)
    points = {p.fmr: p for p in table.points()}
    assert points[1e-3].supported and points[1e-3].impostor_pairs == 10_000
    assert not points[1e-4].supported


def test_table_round_trips_through_json_and_rejects_garbage() -> None:
    table = table_from_uniform(1000)
    again = CalibrationTable.from_json(table.to_json())
    assert again.threshold(1e-2) == table.threshold(1e-2)
    assert json.loads(table.to_json())["points"][0]["fmr"] == 1e-2
    with pytest.raises(CalibrationError, match="malformed"):
        CalibrationTable.from_json('{"model_id": "x"}')


def test_shipped_dlib_table_backs_1e2_and_1e3_and_refuses_1e5() -> None:
    table = shipped_table(DLIB_RESNET_INFO)
    assert table.impostor_pairs >= 5000
    assert 0.3 < table.threshold(1e-3) < 0.6  # dlib's customary distance 0.6 is the score 0.4
    assert table.threshold(1e-2) < table.threshold(1e-3)
    with pytest.raises(UnsupportedFMRError):
        table.threshold(1e-5)
    with pytest.raises(CalibrationError, match="for another model"):
        table.require_model(INFO)


def test_verify_and_identify_at_the_stated_fmr() -> None:
    matcher = Matcher(table_from_uniform(1000), 1e-2)
    assert matcher.threshold == pytest.approx(0.989, abs=1e-9)  # just above the 11th-highest of 1000
    same = matcher.verify(template(1, 0, 0), template(1, 0.0001, 0))
    other = matcher.verify(template(1, 0, 0), template(0, 1, 0))
    assert same.match and not other.match
    assert same.fmr == 1e-2 and same.threshold == matcher.threshold

    gallery = Gallery(INFO)
    gallery.add("e1", "alice", template(1, 0, 0))
    gallery.add("e2", "bob", template(0, 1, 0))
    gallery.add("e3", "carol", template(0, 0, 1))
    result = matcher.identify(template(0.01, 1, 0), gallery, k=2)
    assert [c.subject_id for c in result.candidates] == ["bob", "alice"]
    assert [c.rank for c in result.candidates] == [1, 2]
    assert [c.subject_id for c in result.matches] == ["bob"]
    assert result.fpir_bound == pytest.approx(3e-2)


def test_gallery_refuses_duplicates_unknown_entries_empty_search_and_other_models() -> None:
    gallery = Gallery(INFO)
    with pytest.raises(GalleryError, match="empty gallery"):
        gallery.search(template(1, 0, 0), 1)
    gallery.add("e1", "alice", template(1, 0, 0))
    with pytest.raises(GalleryError, match="got e1"):
        gallery.add("e1", "alice", template(1, 0, 0))
    with pytest.raises(GalleryError, match="unknown gallery entry"):
        gallery.remove("nope")
    other = ModelInfo("toy", "2", 3, "cosine", ARCFACE_112)
    with pytest.raises(ModelMismatchError, match="expected toy@1, got toy@2"):
        gallery.add("e2", "bob", template(1, 0, 0, model=other))
    gallery.remove("e1")
    assert len(gallery) == 0


def test_templates_of_two_models_never_compare() -> None:
    other = ModelInfo("other", "1", 3, "cosine", ARCFACE_112)
    with pytest.raises(ModelMismatchError):
        similarity(template(1, 0, 0), template(1, 0, 0, model=other))
    matcher = Matcher(table_from_uniform(1000), 1e-2)
    with pytest.raises(ModelMismatchError):
        matcher.verify(template(1, 0, 0, model=other), template(1, 0, 0, model=other))


def test_euclidean_score_is_one_minus_distance() -> None:
    a = Template(np.array([0, 0], np.float32), "m", "1", "euclidean")
    b = Template(np.array([0.3, 0.4], np.float32), "m", "1", "euclidean")
    assert similarity(a, b) == pytest.approx(0.5)


def test_templates_are_read_only() -> None:
    t = template(1, 2, 3)
    with pytest.raises(ValueError, match="read-only"):
        t.vector[0] = 5
