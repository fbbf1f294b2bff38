"""Face engine commands: info, detect, verify, demo, bench faces, bench calibrate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
from bioexit.errors import ConfigError
from bioexit.settings import DetectorConfig, EmbedderConfig

# --- commands ----------------------------------------------------------------------------


@app.command()
def info(as_json: JsonOption = False) -> None:
    """Show the validated settings and the calibration points of the configured model."""

    def action() -> None:
        from bioexit.engine import build_embedder, calibration_table

        settings = cli_settings()
        info = build_embedder(settings.embedder).info
        table = calibration_table(settings.embedder, info)
        result = {
            "settings": json.loads(settings.model_dump_json()),
            "calibration": {
                "model": info.key,
                "source": table.source,
                "points": [p.as_dict() for p in table.points()],
            },
        }

        def render(r: dict[str, Any]) -> None:
            out.print_json(data=r)

        emit(result, as_json, render)

    run(action)


@app.command()
def detect(image: Path, as_json: JsonOption = False) -> None:
    """Find faces in an image: boxes, scores, landmarks."""

    def action() -> None:
        from bioexit.engine import build_detector
        from bioexit.imaging import read_image

        settings = cli_settings()
        detections = build_detector(settings.detector).detect(read_image(image, limits=settings.images))
        result = [
            {
                "box": [round(v, 1) for v in (d.x1, d.y1, d.x2, d.y2)],
                "score": round(d.score, 4),
                "landmarks": d.landmarks.round(1).tolist(),
            }
            for d in detections
        ]

        def render(rows: list[dict[str, Any]]) -> None:
            table = Table("face", "box (x1, y1, x2, y2)", "width", "score")
            for i, r in enumerate(rows):
                table.add_row(str(i), str(r["box"]), f"{r['box'][2] - r['box'][0]:.0f}", f"{r['score']:.3f}")
            out.print(table)

        emit(result, as_json, render)

    run(action)


@app.command()
def verify(
    probe: Path,
    reference: Path,
    fmr: Annotated[float | None, typer.Option(help="false-match rate (default from settings)")] = None,
    as_json: JsonOption = False,
) -> None:
    """1:1: is the largest face in PROBE the person in REFERENCE, at the stated false-match rate?"""

    def action() -> None:
        from bioexit.engine import FaceEngine, build_matcher
        from bioexit.errors import NoFaceError
        from bioexit.imaging import read_image

        settings = cli_settings()
        engine = FaceEngine.from_settings(settings)
        faces = []
        for path in (probe, reference):
            face = engine.largest_face(read_image(path, limits=settings.images))
            if face is None:
                raise NoFaceError("no face found", expected="one face", got=str(path))
            faces.append(face)
        matcher = build_matcher(settings, engine.embedder.info, fmr)
        v = matcher.verify(faces[0].template, faces[1].template)
        result = {
            "match": v.match,
            "score": round(v.score, 4),
            "threshold": round(v.threshold, 4),
            "fmr": v.fmr,
        }
        emit(result, as_json, lambda r: out.print(f"{'MATCH' if r['match'] else 'NO MATCH'} {r}"))

    run(action)


@app.command()
def demo(data: DataOption = None, as_json: JsonOption = False) -> None:
    """Enrol one photo per person of a labelled folder; identify the rest and the group photos."""

    def action() -> None:
        from bioexit.bench.dataset import load_dataset
        from bioexit.demo import run_demo

        settings = cli_settings()
        dataset = load_dataset(data_dir(data, settings))
        with progress_bars(not as_json) as progress:
            result = run_demo(dataset, settings, progress)

        def render(r: dict[str, Any]) -> None:
            table = Table("probe", "face", "true identity", "best candidate", "score", "decision", "correct")
            for row in r["rows"]:
                mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[row["correct"]]
                table.add_row(
                    row["probe"],
                    str(row["face"]),
                    row["true_identity"] or "(unlabelled)",
                    row["candidate"] or "-",
                    "-" if row["score"] is None else f"{row['score']:.3f}",
                    row["decision"],
                    mark,
                )
            out.print(table)
            summary = {k: v for k, v in r.items() if k != "rows"}
            out.print(summary)

        emit(result, as_json, render)

    run(action)


@bench_app.command("faces")
def bench_faces(
    data: DataOption = None,
    as_json: JsonOption = False,
    out_dir: Annotated[Path, typer.Option("--out", help="where the DET-curve PNG goes")] = Path(
        "out/bench-faces"
    ),
    widths: Annotated[
        str, typer.Option(help="comma-separated face widths in pixels")
    ] = "16,20,24,32,48,64,96,128",
    max_faces: Annotated[int | None, typer.Option(help="faces pasted per width (default: all)")] = None,
    seed: int = 0,
    compare: Annotated[
        list[str] | None,
        typer.Option(help="also run a detector: KIND[,key=value...], repeatable; e.g. dlib-hog,upsample=1"),
    ] = None,
    compare_embedder: Annotated[
        list[str] | None,
        typer.Option(
            help="also run an embedder: KIND[,key=value...], repeatable; e.g. dlib-resnet,runtime=dlib"
        ),
    ] = None,
) -> None:
    """Detection recall by face width, ms per 1080p frame, TAR at FAR, EER; writes a DET-curve PNG."""

    def action() -> None:
        from bioexit.bench.dataset import load_dataset
        from bioexit.bench.faces import FacesBenchOptions, run_faces_bench
        from bioexit.detection.types import Detector
        from bioexit.embedding.types import Embedder
        from bioexit.engine import build_detector, build_embedder

        settings = cli_settings()
        reference: str = settings.detector.kind
        detectors: dict[str, Detector] = {reference: build_detector(settings.detector)}
        for spec in compare or []:
            detectors[spec] = build_detector(_parse_spec(spec, DetectorConfig))
        embedders: dict[str, Embedder] = {settings.embedder.kind: build_embedder(settings.embedder)}
        for spec in compare_embedder or []:
            embedders[spec] = build_embedder(_parse_spec(spec, EmbedderConfig))
        dataset = load_dataset(data_dir(data, settings))  # after the options are known to be valid
        options = FacesBenchOptions(
            widths=tuple(int(w) for w in widths.split(",")),
            seed=seed,
            max_faces=max_faces,
            det_plot=out_dir / "det_curve.png",
            limits=settings.images,
        )
        with progress_bars(True) as progress:
            result = run_faces_bench(dataset, detectors, embedders, reference, options, progress)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        emit(result, as_json, lambda r: out.print_json(data=r))

    run(action)


def _parse_spec(spec: str, union: Any) -> Any:
    """``KIND[,key=value...]`` validated like the settings' table for that union."""
    from pydantic import TypeAdapter, ValidationError

    kind, *pairs = spec.split(",")
    try:
        fields = dict(pair.split("=", 1) for pair in pairs)
        return TypeAdapter(union).validate_python({"kind": kind, **fields})
    except (ValueError, ValidationError) as exc:
        raise ConfigError(
            f"bad --compare value {spec!r}: {exc}",
            expected="KIND[,key=value...], e.g. dlib-hog,upsample=1 or yunet-onnx,path=F.onnx,sha256=HEX",
            got=spec,
        ) from exc


@bench_app.command("calibrate")
def bench_calibrate(
    data: DataOption = None,
    as_json: JsonOption = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the table here")] = None,
) -> None:
    """Rebuild the configured model's impostor-score table from all pairs of labels.csv."""

    def action() -> None:
        from bioexit.bench.calibrate import calibrate
        from bioexit.bench.dataset import load_dataset
        from bioexit.engine import build_detector, build_embedder

        settings = cli_settings()
        dataset = load_dataset(data_dir(data, settings))
        with progress_bars(True) as progress:
            table = calibrate(
                dataset,
                build_detector(settings.detector),
                build_embedder(settings.embedder),
                settings.images,
                progress,
            )
        if out_file is not None:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            out_file.write_text(table.to_json(), encoding="utf-8")
        result = {
            "model": f"{table.model_id}@{table.model_version}",
            "impostor_pairs": table.impostor_pairs,
            "genuine_pairs": table.genuine_pairs,
            "source": table.source,
            "points": [p.as_dict() for p in table.points()],
            "written_to": str(out_file) if out_file else None,
            **table.extra,
        }
        emit(result, as_json, lambda r: out.print_json(data=r))

    run(action)
