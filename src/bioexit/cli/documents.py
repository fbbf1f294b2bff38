"""Travel-document commands: ``document read`` (MRZ text) and ``document enrol`` (portrait)."""

from __future__ import annotations

import sys
import time
from datetime import date
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
    emit,
    out,
    progress_bars,
    run,
)
from bioexit.errors import DocumentError, ImageFileError, MRZFormatError

document_app = typer.Typer(help="Travel documents: read a machine-readable zone, enrol the portrait.")
app.add_typer(document_app, name="document", no_args_is_help=True)

_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51", b"RIFF")
_KINDS = "passport, passport-card, visa, permanent-resident-card, border-crossing-card, id-card, other"


def _mrz_text(source: str) -> str:
    """The zone's text: from stdin for ``-``, from the file when one exists there, else the argument."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        return source
    data = path.read_bytes()
    if data.startswith(_IMAGE_SIGNATURES):
        raise MRZFormatError(
            f"{source} is an image; `document read` takes the zone as text (bioexit ships no OCR; "
            "`document enrol` finds the MRZ band and the portrait on a page image)",
            expected="MRZ text, a text file or -",
            got="image data",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MRZFormatError(f"{source} is not UTF-8 text", expected="MRZ text", got="binary data") from None


def _masked(number: str) -> str:
    shown = number[-3:] if len(number) > 3 else ""
    return "*" * (len(number) - len(shown)) + shown


@document_app.command("read")
def read(
    mrz: Annotated[
        str, typer.Argument(help="the zone's lines (separated by spaces or newlines), a text file, or -")
    ],
    kind: Annotated[str | None, typer.Option(help=f"what the document is, when known: {_KINDS}")] = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="print the full document number and optional data")
    ] = False,
    today: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD that anchors two-digit years (default: today)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Parse and validate a machine-readable zone (TD1, TD2, TD3, MRV-A, MRV-B); every check digit."""

    def action() -> None:
        from bioexit.documents import DocumentKind, parse_mrz

        stated = None
        if kind is not None:
            try:
                stated = DocumentKind(kind)
            except ValueError:
                raise DocumentError("unknown document kind", expected=_KINDS, got=kind) from None
        anchor = date.today()
        if today is not None:
            try:
                anchor = date.fromisoformat(today)
            except ValueError:
                raise DocumentError("--today is not a date", expected="YYYY-MM-DD", got=today) from None
        zone = parse_mrz(_mrz_text(mrz).split(), today=anchor, kind=stated)
        number = zone.document_number if reveal else _masked(zone.document_number)
        result: dict[str, Any] = {
            "valid": True,
            "format": zone.format,
            "kind": zone.kind.value,
            "document_code": zone.document_code,
            "issuing_state": zone.issuing_state,
            "nationality": zone.nationality,
            "surname": zone.surname,
            "given_names": list(zone.given_names),
            "document_number": number,
            "document_number_revealed": reveal,
            "birth_date": zone.birth_date,
            "sex": zone.sex,
            "expiry_date": zone.expiry_date,
            "expired": None if zone.expiry_date is None else zone.expiry_date < anchor,
        }
        if reveal:
            result["optional_data_1"] = zone.optional_data_1
            result["optional_data_2"] = zone.optional_data_2

        def render(r: dict[str, Any]) -> None:
            table = Table("field", "value", title=f"valid {r['format']} zone: every check digit matches")
            for key, value in r.items():
                if key not in ("valid", "document_number_revealed"):
                    table.add_row(key, " ".join(value) if isinstance(value, list) else str(value))
            out.print(table)

        emit(result, as_json, render)

    run(action)


@document_app.command("enrol")
def enrol(
    image: Path,
    chip: Annotated[
        bool, typer.Option("--chip", help="IMAGE is a chip portrait (JPEG 2000 or JPEG), not a page")
    ] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="write the portrait crop here (.png or .jpg)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Find, crop and grade the portrait of a data page (or a chip portrait); is it usable as a reference?"""

    def action() -> None:
        from PIL import Image

        from bioexit.documents.enrol import enrol_chip, enrol_data_page
        from bioexit.engine import FaceEngine
        from bioexit.imaging import read_image

        settings = cli_settings()
        engine = FaceEngine.from_settings(settings)
        started = time.perf_counter()
        if chip:
            try:
                data = image.read_bytes()
            except OSError as exc:
                raise ImageFileError(
                    "cannot read chip portrait", expected="a readable file", got=str(image)
                ) from exc
            portrait = enrol_chip(data, engine, limits=settings.images)
        else:
            portrait = enrol_data_page(read_image(image, limits=settings.images), engine)
        elapsed = time.perf_counter() - started
        result = {"image": str(image), **portrait.report(), "enrol_ms": round(elapsed * 1000.0, 1)}
        if out_file is not None:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(portrait.crop).save(out_file)
        result["crop_written_to"] = None if out_file is None else str(out_file)

        def render(r: dict[str, Any]) -> None:
            verdict = "[green]usable as a reference[/]" if r["usable_as_reference"] else "[red]NOT usable[/]"
            out.print(f"{r['source']} portrait at {r['face_box']}: {verdict} ({r['profile']})")
            for failure in r["failures"]:
                out.print(f"  {failure['component']}: expected {failure['expected']}, got {failure['got']}")
            if r["flags"]:
                out.print("  flags: " + ", ".join(r["flags"]))
            out.print(f"  quality: {r['quality']}")

        emit(result, as_json, render)

    run(action)


@bench_app.command("documents")
def bench_documents(
    documents: Annotated[Path, typer.Option("--documents", help="folder of data-page images")],
    data: DataOption = None,
    repeats: Annotated[int, typer.Option(min=1, help="timed runs per page (median)")] = 5,
    as_json: JsonOption = False,
) -> None:
    """Portrait enrolment on data pages and JPEG 2000 chips: boxes, quality, verdicts, ms, pass rates."""

    def action() -> None:
        from bioexit.bench.dataset import load_dataset
        from bioexit.bench.documents import run_documents_bench
        from bioexit.engine import FaceEngine, build_matcher

        settings = cli_settings()
        engine = FaceEngine.from_settings(settings)
        matcher = build_matcher(settings, engine.embedder.info)
        folder = data or settings.data_dir
        faces = load_dataset(folder) if folder is not None else None
        with progress_bars(True) as progress:
            result = run_documents_bench(
                documents, engine, matcher, settings.images, faces=faces, repeats=repeats, progress=progress
            )
        emit(result, as_json, lambda r: out.print_json(data=r))

    run(action)
