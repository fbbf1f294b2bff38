"""Gallery commands: airport gate mode (gate open / process / close), bench gallery, bench identify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bioexit.cli._base import (
    DataOption,
    JsonOption,
    app,
    bench_app,
    cli_settings,
    data_dir,
    emit,
    out,
    progress_bars,
    run,
)
from bioexit.errors import ConfigError, UnsupportedFMRError

gate_app = typer.Typer(
    help="Airport gate: a flight's manifest gallery, boarding photos 1:N, close.", no_args_is_help=True
)
app.add_typer(gate_app, name="gate")

MILVUS_LITE_MAX = 20_000
FlightOption = Annotated[str, typer.Option("--flight", help="flight id (letters, digits, '_', '.', '-')")]


def _render(result: Any) -> None:
    out.print_json(data=result)


def _gate_parts() -> tuple[Any, Any, Any, Any]:
    """Settings, face engine, model info and calibration table, built once per command."""
    from bioexit.engine import FaceEngine, calibration_table

    settings = cli_settings()
    engine = FaceEngine.from_settings(settings)
    info = engine.embedder.info
    return settings, engine, info, calibration_table(settings.embedder, info)


def _photo_embedder(engine: Any, settings: Any) -> Any:
    from bioexit.imaging import read_image

    def embed(path: Path) -> Any:
        face = engine.largest_face(read_image(path, limits=settings.images))
        return None if face is None else face.template

    return embed


@gate_app.command("open")
def gate_open(
    flight: FlightOption,
    manifest: Annotated[Path, typer.Option("--manifest", help="CSV or JSON: traveller_id, document_photo")],
    as_json: JsonOption = False,
) -> None:
    """Enrol every traveller's document photo into the flight's manifest gallery."""

    def action() -> None:
        from bioexit.galleries.gate import Gate, load_manifest

        parsed = load_manifest(manifest)
        settings, engine, info, table = _gate_parts()
        gate = Gate.open(settings.galleries, flight, parsed, _photo_embedder(engine, settings), info, table)
        travellers = gate.state["travellers"]
        result = {
            "flight": flight,
            "enrolled": sum(t["enrolled"] for t in travellers.values()),
            "not_enrolled": {k: v["reason"] for k, v in travellers.items() if not v["enrolled"]},
            "threshold": gate.gallery.threshold().as_dict(),
        }
        emit(result, as_json, _render)

    run(action)


@gate_app.command("process")
def gate_process(
    flight: FlightOption,
    photos: Annotated[list[Path], typer.Argument(help="boarding photos")],
    as_json: JsonOption = False,
) -> None:
    """Search each boarding photo 1:N against the flight's gallery: departed or no-match."""

    def action() -> None:
        from bioexit.galleries.gate import Gate

        settings, engine, info, table = _gate_parts()
        gate = Gate.load(settings.galleries, flight, info, table)
        emit(gate.process(photos, _photo_embedder(engine, settings)), as_json, _render)

    run(action)


@gate_app.command("close")
def gate_close(flight: FlightOption, as_json: JsonOption = False) -> None:
    """Close the gate: per-traveller departures, no-matches for an officer; templates deleted."""

    def action() -> None:
        from bioexit.engine import build_embedder, calibration_table
        from bioexit.galleries.gate import Gate

        settings = cli_settings()
        info = build_embedder(settings.embedder).info  # the model loads only on a first embed: not here
        gate = Gate.load(settings.galleries, flight, info, calibration_table(settings.embedder, info))
        emit(gate.close(), as_json, _render)

    run(action)


# --- benchmarks --------------------------------------------------------------------------


def _ints(text: str, option: str) -> list[int]:
    try:
        values = [int(float(v)) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise ConfigError(f"bad {option}", expected="comma-separated integers", got=text) from exc
    if not values or min(values) < 1:
        raise ConfigError(f"bad {option}", expected="positive integers", got=text)
    return values


def _backend_runs(
    backends: str,
    nprobes: list[int],
    structure: str,
    nlist: int | None,
    pq_bytes: int,
    rerank: int,
    size: int,
    threads: int,
    coarse: str = "flat",
) -> list[Any]:
    from bioexit.bench.gallery import BackendRun
    from bioexit.settings import FaissIndexConfig, MilvusIndexConfig, NumpyIndexConfig

    runs = []
    for name in [b.strip() for b in backends.split(",") if b.strip()]:
        if name == "numpy":
            runs.append(BackendRun("numpy", NumpyIndexConfig()))
        elif name == "faiss":
            config = FaissIndexConfig(
                structure=structure,
                nlist=nlist or int(min(4096, max(16, round(4 * size**0.5)))),
                threads=threads,
                coarse=coarse,
                pq_bytes=pq_bytes,
                rerank=rerank,
                train_min=min(size, 200_000),
            )
            runs.append(BackendRun(f"faiss-{structure}-{coarse}", config, nprobes))
        elif name == "milvus":
            configured = cli_settings().galleries.index
            milvus = configured if isinstance(configured, MilvusIndexConfig) else MilvusIndexConfig()
            if not milvus.uri and size > MILVUS_LITE_MAX:
                # Measured: Milvus Lite's process grew past 19 GB at 100k × 128-D and was OOM-killed.
                raise ConfigError(
                    "Milvus Lite is for tests and small galleries",
                    expected=f"--size ≤ {MILVUS_LITE_MAX:,}, or a Milvus cluster uri in [galleries.index]",
                    got=f"{size:,}",
                )
            runs.append(BackendRun("milvus" if milvus.uri else "milvus-lite", milvus))
        else:
            raise ConfigError("unknown backend", expected="numpy, faiss, milvus", got=name)
    return runs


@bench_app.command("gallery")
def bench_gallery(
    size: Annotated[str, typer.Option("--size", help="gallery size, e.g. 1000000 or 1e7")] = "100000",
    dim: Annotated[int, typer.Option("--dim", help="template dimension")] = 128,
    backend: Annotated[
        str, typer.Option("--backend", help="comma list: numpy, faiss, milvus")
    ] = "numpy,faiss",
    structure: Annotated[
        str, typer.Option(help="faiss: ivf-flat | ivf-sq8 | ivf-pq | ivf-pq-fastscan")
    ] = "ivf-pq-fastscan",
    nlist: Annotated[int | None, typer.Option(help="faiss inverted lists (default ≈ 4·√N, ≤ 4096)")] = None,
    nprobe: Annotated[str, typer.Option(help="faiss: comma list of nprobe values to measure")] = "64,128,256",
    pq_bytes: Annotated[int, typer.Option(help="faiss ivf-pq code bytes")] = 32,
    rerank: Annotated[int, typer.Option(help="faiss: candidates re-scored exactly")] = 64,
    threads: Annotated[int, typer.Option(help="faiss threads (1 is faster on a busy machine)")] = 2,
    coarse: Annotated[str, typer.Option(help="faiss coarse quantizer: flat | hnsw")] = "flat",
    queries: Annotated[int, typer.Option(help="probes for recall@1")] = 1000,
    timed: Annotated[int, typer.Option(help="probes timed one by one (and in batches of 8)")] = 200,
    data: DataOption = None,
    work_dir: Annotated[Path, typer.Option(help="scratch folder for on-disk indexes")] = Path(
        "/tmp/bioexit-bench-gallery"
    ),
    as_json: JsonOption = False,
) -> None:
    """Build time, memory, p50/p99 latency (single and batches of 8) and recall@1 vs exact, per backend."""

    def action() -> None:
        from bioexit.bench.gallery import GalleryBenchOptions, run_gallery_bench
        from bioexit.bench.gallery_synth import DLIB_FIT, GalleryShape

        sizes = _ints(size, "--size")
        if len(sizes) != 1:
            raise ConfigError("one --size per run", expected="one integer", got=size)
        runs = _backend_runs(
            backend, _ints(nprobe, "--nprobe"), structure, nlist, pq_bytes, rerank, sizes[0], threads, coarse
        )
        fit = DLIB_FIT
        with progress_bars(not as_json) as progress:
            if data is not None:
                fit = _real_fit(data, progress)[3]
            result = run_gallery_bench(
                runs,
                fit,
                GalleryBenchOptions(GalleryShape(size=sizes[0], dim=dim), queries, timed, work_dir=work_dir),
                progress,
            )
        emit(result, as_json, _render)

    run(action)


def _real_fit(data: Path, progress: Any) -> tuple[Any, Any, Any, Any]:
    from bioexit.bench.dataset import load_dataset
    from bioexit.bench.gallery_synth import fit_clusters, real_templates
    from bioexit.engine import FaceEngine

    settings = cli_settings()
    engine = FaceEngine.from_settings(settings)
    vectors, identities, _ = real_templates(load_dataset(data), engine, settings.images, progress)
    return settings, engine, (vectors, identities), fit_clusters(vectors, identities)


@bench_app.command("identify")
def bench_identify(
    data: DataOption = None,
    gallery_size: Annotated[
        str, typer.Option("--gallery-size", help="comma list of gallery sizes")
    ] = "420,42000",
    fpir: Annotated[float, typer.Option(help="false-positive identification rate")] = 0.003,
    as_json: JsonOption = False,
) -> None:
    """TIR at FPIR with real probes and document photos, padded with synthetic distractors."""

    def action() -> None:
        from bioexit.bench.identify import run_identify_bench
        from bioexit.engine import calibration_table

        sizes = _ints(gallery_size, "--gallery-size")
        if not 0 < fpir < 1:
            raise ConfigError("bad --fpir", expected="0 < FPIR < 1", got=fpir)
        folder = data_dir(data, cli_settings())
        with progress_bars(not as_json) as progress:
            settings, engine, (vectors, identities), fit = _real_fit(folder, progress)
            table = calibration_table(settings.embedder, engine.embedder.info)
            result = run_identify_bench(
                vectors,
                identities,
                sizes,
                table,
                fit,
                fpir,
                min_fmr=settings.galleries.min_fmr,
                progress=progress,
            )
        emit(result, as_json, _render)

    run(action)


@app.command()
def thresholds(
    sizes: Annotated[str, typer.Option(help="comma list of gallery sizes")] = "24,420,4200,42000,1000000",
    fpir: Annotated[float, typer.Option(help="false-positive identification rate")] = 0.003,
    as_json: JsonOption = False,
) -> None:
    """The threshold each gallery size gets at an FPIR, the FMR behind it, and whether it is extrapolated."""

    def action() -> None:
        from bioexit.engine import build_embedder, calibration_table
        from bioexit.galleries.thresholds import fpir_threshold

        if not 0 < fpir < 1:
            raise ConfigError("bad --fpir", expected="0 < FPIR < 1", got=fpir)
        settings = cli_settings()
        info = build_embedder(settings.embedder).info
        table = calibration_table(settings.embedder, info)
        rows: list[dict[str, Any]] = []
        for n in _ints(sizes, "--sizes"):
            try:
                rows.append(fpir_threshold(table, fpir, n, settings.galleries.min_fmr).as_dict())
            except UnsupportedFMRError as exc:
                rows.append({"gallery_size": n, "fpir_target": fpir, "refused": str(exc)})
        emit(
            {"model": info.key, "impostor_pairs": table.impostor_pairs, "thresholds": rows}, as_json, _render
        )

    run(action)
