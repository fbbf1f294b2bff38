"""Every error that bioexit raises on purpose.

Callers catch the narrowest class they can handle and let the rest rise. Each
message says what was expected and what arrived, so an integrator can fix the
input without reading the source.

    BioexitError                    base of everything below
    ├── ConfigError                 settings or a backend config are invalid
    ├── DataError                   a dataset folder is not laid out as documented
    │   ├── EncounterError          an encounter folder or one of its frames cannot be used
    │   │   ├── EncounterFormatError  encounter.json is missing or breaks its schema
    │   │   ├── UnknownCameraError  a frame names a camera the encounter does not list
    │   │   ├── MissingFrameError   a frame file named by encounter.json is absent
    │   │   └── StoredResultError   a stored vehicle result is unreadable or breaks its schema
    │   └── ManifestError           a flight manifest file is malformed or names missing photos
    ├── StayError                   stay dates contradict each other, or a stay rule is malformed
    ├── ImageError                  an image was refused; nothing was decoded
    │   ├── ImageFileError          the image file is missing or cannot be read
    │   ├── EmptyImageError         zero bytes, or an empty array
    │   ├── UnsupportedImageError   signature is not JPEG, PNG or JPEG 2000; or a bad array
    │   ├── ImageFormatMismatchError  file extension and signature disagree
    │   ├── ImageTooLargeError      over the byte or pixel cap (decompression bombs)
    │   ├── TruncatedImageError     the file ends before the image does
    │   └── ImageDecodeError        the decoder rejected the data
    ├── ModelError                  a face model cannot be used
    │   ├── ModelFileError          model file missing, unreadable or wrong sha256
    │   └── ModelMismatchError      templates of two different models compared
    ├── NoFaceError                 a face was required and none was found
    │   └── NoPortraitError         a document page or chip portrait holds no usable face
    ├── MatchingError               a comparison cannot be made as asked
    │   ├── CalibrationError        a calibration table is missing or malformed
    │   ├── UnsupportedFMRError     the table cannot back the requested false-match rate
    │   └── GalleryError            gallery misuse (duplicate id, empty gallery, unknown gallery)
    │       └── GalleryClosedError  a search or change of a closed (departed) manifest gallery
    ├── DocumentError               a travel document cannot be read as asked
    │   ├── MRZFormatError          a machine-readable zone has the wrong shape or characters
    │   ├── MRZCheckDigitError      a check digit does not match its field
    │   ├── DocumentKindError       a zone does not fit the document kind stated for it
    │   ├── MRZNotFoundError        no machine-readable zone band was found on a page image
    │   └── PortraitUnusableError   a document portrait fails the reference quality profile
    ├── CryptoError                 sealing or opening protected data failed
    │   ├── KeyUnavailableError     a master or data key is unknown, or was destroyed (crypto-erase)
    │   └── IntegrityError          sealed data or its context was altered; nothing is returned
    ├── AuditError                  an audit event was refused (no purpose, raw data, naive time)
    │   ├── AuditIntegrityError     the audit log was edited, cut, reordered or is malformed
    │   └── AuditWriteError         the audit log could not be written; the search or read is refused
    ├── RecordsError                a record cannot be stored or read as asked
    │   ├── RecordNotFoundError     no record has that id
    │   ├── RecordConflictError     an id is reused for different content, or a state change is not allowed
    │   ├── SchemaVersionError      the database schema is not the one this code needs
    │   └── BlobMissingError        a record's sealed file is gone (flagged by the reconciler)
    ├── AccessError                 the caller may not do this
    │   ├── AuthenticationError     no, unknown or wrong credentials (HTTP 401)
    │   └── PermissionDeniedError   authenticated, but the role or port does not allow it (HTTP 403)
    └── OverloadedError             the processing queue is full; retry later (HTTP 503)
        └── WorkTimeoutError        not done within the request timeout; it still completes (HTTP 503)
"""

from __future__ import annotations

from typing import Any


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class BioexitError(Exception):
    """Base class of every error bioexit raises on purpose."""

    def __init__(self, message: str, *, expected: Any = None, got: Any = None) -> None:
        if expected is not None or got is not None:
            got_text = got if isinstance(got, str) else _describe(got)
            message = f"{message}: expected {expected}, got {got_text}"
        super().__init__(message)
        self.expected = expected
        self.got = got


class ConfigError(BioexitError):
    """Settings, a config file or a backend config failed validation."""


class DataError(BioexitError):
    """A dataset folder (faces, labels.csv) is missing or not laid out as documented."""


class EncounterError(DataError):
    """An encounter folder, or one frame of it, cannot be used."""


class EncounterFormatError(EncounterError):
    """``encounter.json`` is missing, is not JSON, or breaks the published schema."""


class UnknownCameraError(EncounterError):
    """A frame names a camera id that the encounter's camera list does not hold."""


class MissingFrameError(EncounterError):
    """A frame file named by ``encounter.json`` is not in the encounter folder."""


class StayError(BioexitError):
    """Stay dates contradict each other (exit before entry), or a stay rule cannot hold."""


class ManifestError(DataError):
    """A manifest (CSV or JSON list of travellers and document photos) is malformed or incomplete."""


class StoredResultError(EncounterError):
    """A stored vehicle result cannot be read, breaks its schema, or belongs to another encounter."""


class ImageError(BioexitError):
    """An image was refused before or while decoding. Nothing partial is returned."""


class ImageFileError(ImageError):
    """The image file is missing, is a directory, or cannot be read."""


class EmptyImageError(ImageError):
    """The input held zero bytes, or the array had no pixels."""


class UnsupportedImageError(ImageError):
    """The signature is not JPEG, PNG or JPEG 2000, or an array has a shape or dtype we cannot use."""


class ImageFormatMismatchError(ImageError):
    """The file name's extension promises one format and the bytes hold another."""


class ImageTooLargeError(ImageError):
    """The input exceeds the configured byte or pixel cap (a decompression bomb, for example)."""


class TruncatedImageError(ImageError):
    """The data ends before the image does; truncated images are never accepted."""


class ImageDecodeError(ImageError):
    """The decoder found the data corrupt."""


class ModelError(BioexitError):
    """A face model cannot be loaded or used."""


class ModelFileError(ModelError):
    """A model file is missing, unreadable, or its sha256 differs from the pinned one."""


class ModelMismatchError(ModelError):
    """Two templates (or a template and a gallery) come from different models or versions."""


class NoFaceError(BioexitError):
    """A face was required (enrolment, verification) and none was found."""


class NoPortraitError(NoFaceError):
    """A document data page or chip portrait holds no face that could be its portrait."""


class MatchingError(BioexitError):
    """A comparison cannot be made as asked."""


class CalibrationError(MatchingError):
    """A calibration table is missing, malformed, or for another model."""


class UnsupportedFMRError(MatchingError):
    """The requested false-match rate is outside 1e-2…1e-5 or not backed by enough impostor pairs."""


class GalleryError(MatchingError):
    """A gallery was misused: duplicate entry id, search of an empty gallery, unknown entry."""


class GalleryClosedError(GalleryError):
    """The gallery was closed (a manifest after departure): it refuses searches and changes."""


class DocumentError(BioexitError):
    """A travel document cannot be read or used as asked."""


class MRZFormatError(DocumentError):
    """A machine-readable zone has the wrong number of lines, line length or characters."""


class MRZCheckDigitError(DocumentError):
    """A check digit does not match its field (ICAO 9303 part 3, 7-3-1 weighting)."""


class DocumentKindError(DocumentError):
    """A zone's format or document code does not fit the document kind stated for it."""


class MRZNotFoundError(DocumentError):
    """No machine-readable zone band was found on a document page image."""


class PortraitUnusableError(DocumentError):
    """A document portrait was found but may not serve as a reference: ``report`` (no pixels, no
    template) names the failed quality components and flags."""

    def __init__(
        self, message: str, *, report: dict[str, Any] | None = None, expected: Any = None, got: Any = None
    ) -> None:
        super().__init__(message, expected=expected, got=got)
        self.report = report or {}


class CryptoError(BioexitError):
    """Sealing or opening protected (encrypted) data failed."""


class KeyUnavailableError(CryptoError):
    """A master or data key is unknown to its provider, or was destroyed (crypto-erase)."""


class IntegrityError(CryptoError):
    """Sealed data, its wrapped key or its bound context was altered; nothing is returned."""


class AuditError(BioexitError):
    """An audit event or entry was refused: a search without a stated purpose, a naive
    time, raw data where a reference belongs, or a malformed entry."""


class AuditIntegrityError(AuditError):
    """The audit log was altered: an entry edited, removed or moved, a stored row
    malformed, or the log does not reach its anchored head."""


class AccessError(BioexitError):
    """The caller may not do what it asked."""


class AuthenticationError(AccessError):
    """Credentials are missing, unknown or wrong. The message never repeats a secret."""


class PermissionDeniedError(AccessError):
    """The caller is known, but none of its roles (or ports) allows this action."""


class OverloadedError(BioexitError):
    """Every worker is busy and the queue is full. Nothing was accepted; retry later."""


class WorkTimeoutError(OverloadedError):
    """The work did not finish within the request timeout. It goes on and commits; the same
    request again (same Idempotency-Key) gets its result."""


class AuditWriteError(AuditError):
    """The audit log could not be written (database down, table gone, read-only); the
    search or biometric read that needed the entry was refused and did not run."""


class RecordsError(BioexitError):
    """A record (traveller, encounter, capture, decision, departure...) cannot be stored or read."""


class RecordNotFoundError(RecordsError):
    """No record has the given id."""


class RecordConflictError(RecordsError):
    """An id is reused for different content, or a state change is not allowed (e.g. a decision
    adjudicated twice)."""


class SchemaVersionError(RecordsError):
    """The database schema is older or newer than this code (run ``bioexit db upgrade``)."""


class BlobMissingError(RecordsError):
    """A record's sealed file is missing from the blob folder; the reconciler flags such rows."""
