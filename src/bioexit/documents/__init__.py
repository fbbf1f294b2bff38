"""Travel documents: the ICAO Doc 9303 machine-readable zone, and the holder's portrait.

``mrz`` parses and fully validates a zone; ``band`` finds the zone on a page image;
``portrait`` (pure) picks, crops and grades the portrait; ``enrol`` runs the face engine
around it for a data page or a chip portrait.
"""

from __future__ import annotations

from bioexit.documents.band import Box, MRZBand, find_mrz_band
from bioexit.documents.mrz import (
    KIND_RULES,
    MRZ,
    DocumentKind,
    KindRule,
    MRZFormat,
    Sex,
    check_digit,
    parse_mrz,
)
from bioexit.documents.portrait import REFERENCE_PROFILE, PortraitChoice, PortraitFlag

__all__ = [
    "KIND_RULES",
    "MRZ",
    "REFERENCE_PROFILE",
    "Box",
    "DocumentKind",
    "KindRule",
    "MRZBand",
    "MRZFormat",
    "PortraitChoice",
    "PortraitFlag",
    "Sex",
    "check_digit",
    "find_mrz_band",
    "parse_mrz",
]
