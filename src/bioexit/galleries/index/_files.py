"""Crash-safe persistence: each save writes a new generation folder, then swaps ``CURRENT``.

A reader sees the old generation or the new one, never a mix. Older generations are
deleted once the new one is current, so removed vectors leave with them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from bioexit.errors import GalleryError

CURRENT = "CURRENT"


def current_generation(directory: Path) -> Path | None:
    pointer = directory / CURRENT
    if not pointer.is_file():
        return None
    path = directory / pointer.read_text(encoding="utf-8").strip()
    if not path.is_dir():
        raise GalleryError("index folder is damaged", expected=f"generation {path.name}", got="missing")
    return path


def new_generation(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    numbers = [
        int(p.name[4:].split(".")[0]) for p in directory.glob("gen-*") if p.name[4:].split(".")[0].isdigit()
    ]
    path = directory / f"gen-{max(numbers, default=0) + 1:06d}.tmp"
    path.mkdir()
    return path


def commit_generation(directory: Path, staged: Path) -> Path:
    final = staged.with_suffix("")
    for file in staged.iterdir():
        with file.open("rb") as handle:
            os.fsync(handle.fileno())
    staged.rename(final)
    pointer = directory / (CURRENT + ".tmp")
    pointer.write_text(final.name + "\n", encoding="utf-8")
    with pointer.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer, directory / CURRENT)
    for old in directory.glob("gen-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def write_json(path: Path, body: dict[str, Any]) -> None:
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def read_meta(generation: Path, dim: int, metric: str, kind: str) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads((generation / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GalleryError("index folder is damaged", expected="a readable meta.json", got=str(exc)) from exc
    found = (meta.get("kind"), meta.get("dim"), meta.get("metric"))
    if found != (kind, dim, metric):
        raise GalleryError("index on disk is of another shape", expected=(kind, dim, metric), got=found)
    return meta


def write_ids(path: Path, ids: list[str]) -> None:
    path.write_text("".join(i + "\n" for i in ids), encoding="utf-8")


def read_ids(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return text.split("\n")[:-1] if text else []
