"""The lane's reference templates: document photos by document number, and earlier encounter photos.

:class:`LaneGallery` is pure (templates in memory); :func:`read_gallery` is the IO edge that
reads a gallery folder (``gallery.json`` plus photos) and enrols each photo's largest face.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bioexit.embedding.types import ModelInfo, Template
from bioexit.engine import FaceEngine
from bioexit.errors import DataError, GalleryError, NoFaceError
from bioexit.imaging import read_image
from bioexit.matching import Gallery
from bioexit.settings import ImageLimits

GALLERY_FILE = "gallery.json"


class GalleryEntry(BaseModel):
    """One reference photo of ``gallery.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_id: str = Field(min_length=1)
    subject_id: str = Field(min_length=1)
    photo: str = Field(min_length=1, description="image file relative to the gallery folder")
    kind: Literal["document", "encounter"] = "document"
    document_number: str | None = Field(None, repr=False)
    document_kind: str | None = Field(
        None, description="passport, visa, ... (for enrolment into the records)"
    )
    issuing_state: str | None = None
    citizenship: Literal["citizen", "non_citizen", "unknown"] = "unknown"


class GalleryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    entries: tuple[GalleryEntry, ...]


class SimulatedPerson(BaseModel):
    """One person of the lane simulator's gallery (``bioexit.lanesim.gallery/1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    photo: str
    document_number: str | None = Field(None, repr=False)
    document_kind: str | None = None
    issuing_state: str | None = None
    citizenship: str | None = None


_CITIZENSHIP: dict[str, Literal["citizen", "non_citizen"]] = {
    "citizen": "citizen",
    "non-citizen": "non_citizen",
    "non_citizen": "non_citizen",
}


class SimulatedGalleryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["bioexit.lanesim.gallery/1"] = Field(alias="schema")
    people: dict[str, SimulatedPerson]

    def entries(self) -> tuple[GalleryEntry, ...]:
        return tuple(
            GalleryEntry(
                entry_id=f"doc-{person_id}",
                subject_id=person_id,
                photo=p.photo,
                kind="document",
                document_number=p.document_number,
                document_kind=p.document_kind,
                issuing_state=p.issuing_state,
                citizenship=_CITIZENSHIP.get(p.citizenship or "", "unknown"),
            )
            for person_id, p in sorted(self.people.items())
        )


@dataclass
class LaneGallery:
    """Templates by entry; document numbers to entries; a :class:`Gallery` for 1:N search.

    ``number_key`` turns a document number into the key it is filed under: the number itself
    by default, a keyed hash for a gallery built from the records (which never hold a plain
    number), so :meth:`by_document` works the same on both.
    """

    model: ModelInfo
    number_key: Callable[[str], str] = field(default=lambda number: number)
    search: Gallery = field(init=False)
    templates: dict[str, Template] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.search = Gallery(self.model)

    def __len__(self) -> int:
        return len(self.templates)

    def add(
        self,
        entry_id: str,
        subject_id: str,
        template: Template,
        document_number: str | None = None,
        *,
        document_key: str | None = None,
    ) -> None:
        """Add an entry; a document photo names its number (or its already-computed key)."""
        key = self.number_key(document_number) if document_number is not None else document_key
        self.search.add(entry_id, subject_id, template)  # checks model and duplicate ids
        self.templates[entry_id] = template
        self.subjects[entry_id] = subject_id
        if key is not None:
            if key in self.documents:
                raise GalleryError(
                    "duplicate document number in the gallery", expected="one entry per document"
                )
            self.documents[key] = entry_id

    def by_document(self, document_number: str) -> str | None:
        return self.documents.get(self.number_key(document_number))


def read_gallery_entries(folder: Path) -> tuple[GalleryEntry, ...]:
    """The entries of ``folder/gallery.json``, in either layout (see :func:`read_gallery`)."""
    path = folder / GALLERY_FILE
    try:
        data = json.loads(path.read_bytes())
    except OSError:
        raise DataError("cannot read the gallery", expected=f"a readable {path}", got="missing") from None
    except ValueError as exc:
        raise DataError(f"{path} is not JSON: {exc}") from None
    try:
        if isinstance(data, dict) and "people" in data:
            return SimulatedGalleryFile.model_validate(data).entries()
        return GalleryFile.model_validate(data).entries
    except ValidationError as exc:
        raise DataError(f"{path} is not a valid gallery file: {exc}") from None


def entry_template(folder: Path, entry: GalleryEntry, engine: FaceEngine, limits: ImageLimits) -> Template:
    """The template of the largest face in an entry's photo; NoFaceError if it has none."""
    face = engine.largest_face(read_image(folder / entry.photo, limits=limits))
    if face is None:
        raise NoFaceError(f"gallery entry {entry.entry_id} has no face", expected="one face", got=entry.photo)
    return face.template


def read_gallery(
    folder: Path,
    engine: FaceEngine,
    limits: ImageLimits,
    progress: Callable[[int, int], None] | None = None,
) -> LaneGallery:
    """Read ``folder/gallery.json`` and enrol the largest face of each photo.

    Two layouts are read: ``{"entries": [GalleryEntry, ...]}``, and the lane simulator's
    ``{"schema": "bioexit.lanesim.gallery/1", "people": {person_id: {...}}}``.
    """
    entries = read_gallery_entries(folder)
    gallery = LaneGallery(engine.embedder.info)
    for done, entry in enumerate(entries, start=1):
        gallery.add(
            entry.entry_id,
            entry.subject_id,
            entry_template(folder, entry, engine, limits),
            entry.document_number,
        )
        if progress is not None:
            progress(done, len(entries))
    return gallery
