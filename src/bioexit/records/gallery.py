"""An in-memory encounter gallery that fits ``GalleryIndex`` (idempotent ``remove``), over the
face engine's exact ``Gallery``. Gallery backends at scale come with the galleries work."""

from __future__ import annotations

from collections.abc import Sequence

from bioexit.embedding.types import ModelInfo, Template
from bioexit.matching import Gallery


class MemoryEncounterGallery:
    def __init__(self, model: ModelInfo) -> None:
        self.gallery = Gallery(model)
        self._ids: set[str] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._ids

    def add(self, entry_id: str, subject_id: str, template: Template) -> None:
        if entry_id in self._ids:  # a replayed add (gallery rebuilt, then the store's callback)
            return
        self.gallery.add(entry_id, subject_id, template)
        self._ids.add(entry_id)

    def remove(self, ids: Sequence[str]) -> None:
        for entry_id in ids:
            if entry_id in self._ids:
                self.gallery.remove(entry_id)
                self._ids.discard(entry_id)

    def search(self, probe: Template, k: int = 5) -> list[tuple[str, str, float]]:
        return self.gallery.search(probe, k)
