"""Results on disk, one file per encounter id, written atomically: processing is idempotent.

The first result stored for an encounter id wins, even when two processes race: each writes a
temporary file, fsyncs it, then hard-links it to the final name, which fails if the name exists.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from bioexit.errors import StoredResultError
from bioexit.lane.result import VehicleResult, parse_result


class ResultStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, encounter_id: str) -> Path:
        # Encounter ids match [A-Za-z0-9][A-Za-z0-9._:-]*; ':' is not portable in file names.
        return self.folder / f"{encounter_id.replace(':', '_')}.json"

    def get(self, encounter_id: str) -> VehicleResult | None:
        path = self.path(encounter_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoredResultError(
                "cannot read a stored result", expected=f"a readable {path}", got=str(exc)
            ) from None
        result = parse_result(data)
        if result.encounter_id != encounter_id:
            raise StoredResultError(
                f"{path} holds another encounter's result", expected=encounter_id, got=result.encounter_id
            )
        return result

    def put(self, result: VehicleResult) -> tuple[VehicleResult, bool]:
        """Store ``result`` unless one is stored already; return the stored one and whether it existed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(result.encounter_id)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(result.to_json().encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, final)
            except FileExistsError:
                existing = self.get(result.encounter_id)
                assert existing is not None
                return existing, True
            directory = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return result, False
