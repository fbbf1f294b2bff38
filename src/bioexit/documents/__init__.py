"""Travel documents: the ICAO Doc 9303 machine-readable zone, parsed and fully validated."""

from __future__ import annotations

from bioexit.documents.mrz import MRZ, DocumentKind, MRZFormat, Sex, check_digit, parse_mrz

__all__ = ["MRZ", "DocumentKind", "MRZFormat", "Sex", "check_digit", "parse_mrz"]
