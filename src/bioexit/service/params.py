"""Request parameter types shared by the routes."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # pydantic alone would read "0" as a Unix timestamp: a query date is YYYY-MM-DD and nothing else.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A ``date`` query parameter that only takes ``YYYY-MM-DD`` (the OpenAPI ``format: date``)."""
