"""The blob folder: sealed files written durably before the row that names them is committed.

Write order (crash safety): a temporary file in ``tmp/`` is written and fsynced, renamed
into ``<2 hex>/<name>``, and both folders are fsynced; only then is the row committed. A
crash leaves at worst a temporary file or a file without a row, which the reconciler and the
sweeper remove. Files hold ciphertext only; their keys live in the database.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bioexit.errors import BlobMissingError, RecordsError

TMP_DIR = "tmp"
_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}\.bx")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class TempFile:
    path: Path
    modified: datetime


class BlobStore:
    """Files under ``root``, named by random ids; paths stored in rows are relative to ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / TMP_DIR
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)
        except OSError as exc:
            raise RecordsError(
                "cannot use the blob folder", expected="a writable folder", got=str(root)
            ) from exc

    def __repr__(self) -> str:
        return f"BlobStore({str(self.root)!r})"

    @staticmethod
    def new_name() -> str:
        token = secrets.token_hex(16)
        return f"{token[:2]}/{token}.bx"

    def path_of(self, name: str) -> Path:
        if _NAME.fullmatch(name) is None:
            raise RecordsError("invalid blob name", expected=_NAME.pattern, got=name)
        return self.root / name

    def write(self, name: str, data: bytes) -> None:
        """Durably write ``data`` as ``name``: tmp + fsync, rename, fsync both folders."""
        target = self.path_of(name)
        target.parent.mkdir(exist_ok=True)
        tmp = self.tmp / f"{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        _fsync_dir(self.tmp)

    def read(self, name: str) -> bytes:
        try:
            return self.path_of(name).read_bytes()
        except FileNotFoundError:
            raise BlobMissingError(
                "sealed file is missing", expected="a file in the blob folder", got=name
            ) from None

    def exists(self, name: str) -> bool:
        return self.path_of(name).is_file()

    def delete(self, name: str) -> bool:
        """Remove ``name`` (already gone is fine); True if a file was removed. The folder is fsynced."""
        path = self.path_of(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def names(self) -> Iterator[str]:
        """Every stored blob name (temporary files excluded)."""
        for folder in sorted(self.root.iterdir()):
            if folder.name == TMP_DIR or not folder.is_dir():
                continue
            for file in sorted(folder.iterdir()):
                name = f"{folder.name}/{file.name}"
                if _NAME.fullmatch(name):
                    yield name

    def temp_files(self) -> list[TempFile]:
        from datetime import UTC

        found = []
        for file in self.tmp.iterdir():
            try:
                modified = datetime.fromtimestamp(file.stat().st_mtime, UTC)
            except FileNotFoundError:
                continue
            found.append(TempFile(file, modified))
        return found
