"""``bench documents`` on the shared specimens (one timed run each) and on an empty folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bioexit.bench.documents import run_documents_bench
from bioexit.engine import FaceEngine, build_matcher
from bioexit.errors import DataError
from bioexit.settings import Settings


def test_bench_reports_every_specimen_and_its_chip(shared_data: Path) -> None:
    settings = Settings()
    engine = FaceEngine.from_settings(settings)
    matcher = build_matcher(settings, engine.embedder.info)
    result = run_documents_bench(shared_data / "documents", engine, matcher, settings.images, repeats=1)
    assert json.loads(json.dumps(result)) == result
    assert [row["page"] for row in result["pages"]] == ["passport-td2.jpg", "passport-td3.jpg"]
    for row in result["pages"]:
        assert row["usable_as_reference"] and row["enrol_ms"] > 0 and row["mrz_band_ms"] > 0
        assert row["chip"]["match"] and 5_000 < row["chip"]["bytes"] < 20_000
    assert "labelled_photos" not in result


def test_bench_without_pages_is_a_data_error(tmp_path: Path) -> None:
    settings = Settings()
    engine = FaceEngine.from_settings(settings)
    with pytest.raises(DataError, match="no page images"):
        run_documents_bench(tmp_path, engine, build_matcher(settings, engine.embedder.info), settings.images)
