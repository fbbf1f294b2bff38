"""Request parameter types shared by the routes."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, Field

from bioexit.audit.chain import MIN_PURPOSE_CHARS, MIN_PURPOSE_LETTERS

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # pydantic alone would read "0" as a Unix timestamp: a query date is YYYY-MM-DD and nothing else.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A ``date`` query parameter that only takes ``YYYY-MM-DD`` (the OpenAPI ``format: date``)."""


def stated_purpose(value: str) -> str:
    # The audit log's own rule, checked up front: a bad purpose is the caller's 422, not a refusal.
    text = value.strip()
    if len(text) < MIN_PURPOSE_CHARS or sum(char.isalpha() for char in text) < MIN_PURPOSE_LETTERS:
        raise ValueError(
            f"state why: at least {MIN_PURPOSE_CHARS} characters with {MIN_PURPOSE_LETTERS} letters"
        )
    return text


Purpose = Annotated[
    str,
    Field(min_length=1, max_length=200, description="why you search (audited)"),
    AfterValidator(stated_purpose),
]
"""A stated purpose in a form or body: the audit log's rule, so a weak one is a 422 up front."""

PurposeQuery = Annotated[
    str,
    Query(min_length=1, max_length=200, description="why you look (audited)"),
    AfterValidator(stated_purpose),
]
"""The same rule for a ``?purpose=`` on a biometric read."""
