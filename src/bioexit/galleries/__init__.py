"""Named, scoped galleries (documents, encounters, manifest, watchlist) over pluggable indexes."""

from bioexit.galleries.alerts import AlertQueue, JsonlAlertQueue, MemoryAlertQueue, WatchlistAlert
from bioexit.galleries.gallery import GalleryResult, NamedGallery, create_gallery, open_gallery
from bioexit.galleries.screening import Screening, screen
from bioexit.galleries.thresholds import GalleryThreshold, fpir_threshold

__all__ = [
    "AlertQueue",
    "GalleryResult",
    "GalleryThreshold",
    "JsonlAlertQueue",
    "MemoryAlertQueue",
    "NamedGallery",
    "Screening",
    "WatchlistAlert",
    "create_gallery",
    "fpir_threshold",
    "open_gallery",
    "screen",
]
