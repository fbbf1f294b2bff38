"""Named galleries: per-gallery thresholds, watchlist alerts, manifests, retention removal, gate mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bioexit.alignment import ARCFACE_112
from bioexit.embedding import ModelInfo, Template
from bioexit.errors import GalleryClosedError, GalleryError, ManifestError, UnsupportedFMRError
from bioexit.galleries import (
    JsonlAlertQueue,
    MemoryAlertQueue,
    create_gallery,
    fpir_threshold,
    open_gallery,
    screen,
)
from bioexit.galleries.gate import Gate, load_manifest
from bioexit.matching import CalibrationTable
from bioexit.settings import FaissIndexConfig, GalleriesConfig, MilvusIndexConfig, NumpyIndexConfig

DIM = 16
INFO = ModelInfo("toy", "1", DIM, "euclidean", ARCFACE_112)
RNG = np.random.default_rng(11)
# Impostor scores of a toy model: 1 - distance of two unrelated unit-spread vectors.
TABLE = CalibrationTable.from_scores(INFO, 1.0 - np.abs(RNG.normal(1.6, 0.25, size=1_500_000)))


def tpl(vector: np.ndarray) -> Template:
    return Template(vector.astype(np.float32), "toy", "1", "euclidean")


def person(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32) / 2.0


def near(vector: np.ndarray, seed: int = 0) -> np.ndarray:
    return vector + 0.01 * np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def config(tmp_path: Path, **kw: object) -> GalleriesConfig:
    return GalleriesConfig(state_dir=tmp_path / "state", **kw)  # type: ignore[arg-type]


def test_each_gallery_sets_its_threshold_from_its_fpir_and_size(tmp_path: Path) -> None:
    cfg = config(tmp_path, fpir={"manifest": 0.003, "watchlist": 0.05})
    manifest = create_gallery(cfg, "f1", "manifest", INFO, TABLE)
    watch = create_gallery(cfg, "w", "watchlist", INFO, TABLE)
    manifest.enrol([(f"t{i}", f"t{i}", tpl(person(i))) for i in range(420)])
    watch.enrol([(f"w{i}", f"w{i}", tpl(person(1000 + i))) for i in range(10)])
    m, w = manifest.threshold(), watch.threshold()
    assert m.gallery_size == 420 and m.fmr == pytest.approx(0.003 / 420)
    assert w.fmr == pytest.approx(0.005)
    assert m.threshold > w.threshold  # bigger gallery, stricter FPIR: higher threshold
    assert not m.extrapolated and m.fpir_bound <= 0.003 + 1e-12
    # The threshold holds FMR on the impostor scores behind the table.
    assert TABLE.fmr_at(m.threshold) <= m.fmr
    # A gallery that grows gets a stricter threshold.
    manifest.enrol([(f"x{i}", f"x{i}", tpl(person(5000 + i))) for i in range(420)])
    assert manifest.threshold().threshold > m.threshold


def test_thresholds_beyond_the_table_are_extrapolated_and_marked_or_refused() -> None:
    small = CalibrationTable.from_scores(INFO, np.random.default_rng(1).normal(size=8000))
    at_420 = fpir_threshold(small, 0.003, 420, min_fmr=1e-9)
    assert at_420.extrapolated and at_420.threshold > small.tail[0]
    assert fpir_threshold(small, 0.003, 4200, 1e-9).threshold > at_420.threshold
    with pytest.raises(UnsupportedFMRError, match="needs FMR"):
        fpir_threshold(small, 0.003, 10_000_000, min_fmr=1e-9)


def test_one_to_n_result_names_gallery_entry_score_rank_and_fpir(tmp_path: Path) -> None:
    gallery = create_gallery(config(tmp_path), "docs", "documents", INFO, TABLE)
    gallery.enrol([(f"doc{i}", f"p{i}", tpl(person(i))) for i in range(50)])
    result = gallery.identify(tpl(near(person(7))), k=3)
    body = result.as_dict()
    assert body["gallery"] == "docs" and body["kind"] == "documents"
    top = body["candidates"][0]
    assert (top["entry"], top["subject"], top["rank"], top["match"]) == ("doc7", "p7", 1, True)
    assert body["fpir"] <= 0.003 + 1e-12 and body["threshold"]["gallery_size"] == 50
    assert not any(c["match"] for c in body["candidates"][1:])


def test_watchlist_hit_alerts_a_supervisor_and_leaves_the_decision_alone(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    docs = create_gallery(cfg, "docs", "documents", INFO, TABLE)
    docs.enrol([(f"doc{i}", f"p{i}", tpl(person(i))) for i in range(30)])
    watch = create_gallery(cfg, "watch", "watchlist", INFO, TABLE)
    watch.enrol([("wl1", "p3", tpl(near(person(3), seed=1))), ("wl2", "zed", tpl(person(999)))])
    queue = JsonlAlertQueue(tmp_path / "alerts.jsonl")
    fixed = datetime(2026, 1, 1, tzinfo=UTC)

    probe = tpl(near(person(3), seed=2))
    without = screen(probe, [docs], [], MemoryAlertQueue(), probe_ref="enc-1", purpose="exit")
    with_watch = screen(probe, [docs], [watch], queue, probe_ref="enc-1", purpose="exit", clock=lambda: fixed)
    assert without.decision == with_watch.decision == "match"
    assert without.subject_id == with_watch.subject_id == "p3"
    assert len(with_watch.alerts) == 1
    alert = queue.pending()[0]
    assert (alert.gallery, alert.entry_id, alert.subject_id, alert.probe_ref) == (
        "watch",
        "wl1",
        "p3",
        "enc-1",
    )
    assert alert.raised_at == fixed and alert.score >= alert.threshold
    assert "vector" not in (tmp_path / "alerts.jsonl").read_text()

    # A watchlisted stranger (no document match) still goes to an officer, with an alert.
    stranger = screen(tpl(near(person(999))), [docs], [watch], queue, probe_ref="enc-2", purpose="exit")
    assert stranger.decision == "officer" and stranger.alerts[0].entry_id == "wl2"
    assert len(queue.pending()) == 2

    with pytest.raises(GalleryError, match="cannot decide a lane"):
        screen(probe, [watch], [], queue, probe_ref="x", purpose="exit")
    with pytest.raises(GalleryError, match="purpose"):
        screen(probe, [docs], [watch], queue, probe_ref="x", purpose=" ")


@pytest.mark.parametrize(
    "index",
    [
        NumpyIndexConfig(),
        FaissIndexConfig(structure="ivf-pq", pq_bytes=8, train_min=200),
        MilvusIndexConfig(),
    ],
    ids=["numpy", "faiss", "milvus"],
)
def test_retention_removal_of_an_encounter_leaves_no_vector(tmp_path: Path, index: object) -> None:
    cfg = config(tmp_path, index=index)
    encounters = create_gallery(cfg, "encounters", "encounters", INFO, TABLE)
    vectors = {f"enc{i:03d}": person(i) for i in range(300)}
    encounters.enrol([(e, f"subj-{e}", tpl(v)) for e, v in vectors.items()])
    assert encounters.identify(tpl(vectors["enc005"])).best_match is not None
    assert encounters.remove(["enc005"]) == 1  # what the retention sweeper calls
    assert encounters.remove(["enc005", "never-held"]) == 0  # a repeated sweep
    encounters.add("enc001", "subj-enc001", tpl(vectors["enc001"]))  # a replayed add changes nothing

    again = open_gallery(cfg, "encounters", INFO, TABLE)
    assert len(again) == 299
    result = again.identify(tpl(vectors["enc005"]), k=5)
    assert "enc005" not in [c.entry_id for c in result.identification.candidates]
    assert result.best_match is None
    raw = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert vectors["enc005"].tobytes() not in raw and b"enc005" not in raw


def test_manifest_closes_for_good(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    gallery = create_gallery(cfg, "m-XY1", "manifest", INFO, TABLE)
    gallery.enrol([("t1", "t1", tpl(person(1)))])
    gallery.close()
    for g in (gallery, open_gallery(cfg, "m-XY1", INFO, TABLE)):
        with pytest.raises(GalleryClosedError, match="closed"):
            g.identify(tpl(person(1)))
        with pytest.raises(GalleryClosedError):
            g.enrol([("t2", "t2", tpl(person(2)))])
    assert not (tmp_path / "state" / "galleries" / "m-XY1" / "index").exists()
    with pytest.raises(GalleryError, match="gallery exists"):
        create_gallery(cfg, "m-XY1", "manifest", INFO, TABLE)
    with pytest.raises(GalleryError, match="unknown gallery"):
        open_gallery(cfg, "nope", INFO, TABLE)
    with pytest.raises(GalleryError, match="bad gallery name"):
        create_gallery(cfg, "../x", "manifest", INFO, TABLE)


def write_manifest(tmp_path: Path, n: int, fmt: str = "csv") -> tuple[Path, dict[Path, np.ndarray]]:
    photos = tmp_path / "docs"
    photos.mkdir(exist_ok=True)
    faces: dict[Path, np.ndarray] = {}
    rows = []
    for i in range(n):
        path = photos / f"t{i}.jpg"
        path.write_bytes(b"fake")
        faces[path] = person(i)
        rows.append({"traveller_id": f"T{i:03d}", "document_photo": f"docs/t{i}.jpg"})
    if fmt == "csv":
        manifest = tmp_path / "manifest.csv"
        manifest.write_text(
            "traveller_id,document_photo\n"
            + "".join(f"{r['traveller_id']},{r['document_photo']}\n" for r in rows)
        )
    else:
        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps({"flight": "XY123", "travellers": rows}))
    return manifest, faces


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_gate_open_process_close(tmp_path: Path, fmt: str) -> None:
    manifest_path, faces = write_manifest(tmp_path, 40, fmt)
    no_face = tmp_path / "docs" / "t39.jpg"
    boarding = {tmp_path / f"b{i}.jpg": near(person(i), seed=i) for i in range(30)}
    boarding[tmp_path / "stranger.jpg"] = person(777)
    for p in boarding:
        p.write_bytes(b"fake")

    def embed(path: Path) -> Template | None:
        if path == no_face:
            return None
        vector = faces.get(path, boarding.get(path))
        return None if vector is None else tpl(vector)

    cfg = config(tmp_path)
    gate = Gate.open(cfg, "XY123", load_manifest(manifest_path), embed, INFO, TABLE)
    assert len(gate.gallery) == 39 and not gate.closed
    with pytest.raises(GalleryError, match="already has a gate"):
        Gate.open(cfg, "XY123", load_manifest(manifest_path), embed, INFO, TABLE)
    events = Gate.load(cfg, "XY123", INFO, TABLE).process(sorted(boarding), embed)
    assert sum(e["outcome"] == "departed" for e in events) == 30
    assert [e["outcome"] for e in events if e["photo"].endswith("stranger.jpg")] == ["no-match"]

    report = Gate.load(cfg, "XY123", INFO, TABLE).close()
    status = {d["traveller_id"]: d["status"] for d in report["departures"]}
    assert [status[f"T{i:03d}"] for i in range(30)] == ["departed"] * 30
    assert status["T035"] == "not-seen" and status["T039"] == "not-enrolled"
    assert report["counts"]["for_officer"] == 1 and report["for_officer"][0]["outcome"] == "no-match"
    assert report["threshold"]["gallery_size"] == 39 and report["threshold"]["fpir_target"] == 0.003
    with pytest.raises(GalleryClosedError, match="closed"):
        Gate.load(cfg, "XY123", INFO, TABLE).process([tmp_path / "b1.jpg"], embed)
    with pytest.raises(GalleryClosedError):
        Gate.load(cfg, "XY123", INFO, TABLE).close()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("traveller_id,photo\nT1,a.jpg\n", "m.csv", "lacks columns"),
        ("traveller_id,document_photo\n", "m.csv", "lists no travellers"),
        ("traveller_id,document_photo\nT1,missing.jpg\n", "m.csv", "no document photo"),
        ("traveller_id,document_photo\nT1,a.jpg\nT1,a.jpg\n", "m.csv", "listed twice"),
        ("traveller_id,document_photo\n../x,a.jpg\n", "m.csv", "bad id"),
        ('{"travellers": 3}', "m.json", "not a manifest"),
        ("{", "m.json", "not a manifest"),
        ("x", "m.txt", "unknown manifest format"),
    ],
)
def test_bad_manifests_are_refused(tmp_path: Path, content: str, name: str, message: str) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / name).write_text(content)
    with pytest.raises(ManifestError, match=message):
        load_manifest(tmp_path / name)
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "absent.csv")


def test_index_backend_and_fpir_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bioexit.errors import ConfigError
    from bioexit.settings import load_settings

    monkeypatch.setenv("BIOEXIT_GALLERIES__INDEX__KIND", "faiss")
    monkeypatch.setenv("BIOEXIT_GALLERIES__INDEX__NPROBE", "128")
    monkeypatch.setenv("BIOEXIT_GALLERIES__FPIR__WATCHLIST", "0.02")
    settings = load_settings()
    assert isinstance(settings.galleries.index, FaissIndexConfig) and settings.galleries.index.nprobe == 128
    assert settings.galleries.fpir.of("watchlist") == 0.02 and settings.galleries.fpir.of("manifest") == 0.003
    monkeypatch.setenv("BIOEXIT_GALLERIES__INDEX__KIND", "annoy")
    with pytest.raises(ConfigError, match="annoy"):
        load_settings()
    monkeypatch.setenv("BIOEXIT_GALLERIES__INDEX__KIND", "milvus")
    monkeypatch.delenv("BIOEXIT_GALLERIES__INDEX__NPROBE")
    monkeypatch.setenv("BIOEXIT_GALLERIES__FPIR__WATCHLIST", "1.5")
    with pytest.raises(ConfigError, match="watchlist"):
        load_settings()
