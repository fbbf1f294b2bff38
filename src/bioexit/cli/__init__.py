"""The ``bioexit`` command line. Every command that reports takes ``--json``."""

from __future__ import annotations

from bioexit.cli import documents as _documents  # noqa: F401  (registers its commands)
from bioexit.cli import faces as _faces  # noqa: F401  (registers its commands)
from bioexit.cli import gallery as _gallery  # noqa: F401  (registers its commands)
from bioexit.cli import lane as _lane  # noqa: F401  (registers its commands)
from bioexit.cli import lane_records as _lane_records  # noqa: F401  (registers its commands)
from bioexit.cli import quality as _quality  # noqa: F401  (registers its commands)
from bioexit.cli import records as _records  # noqa: F401  (registers its commands)
from bioexit.cli import service as _service  # noqa: F401  (registers its commands)
from bioexit.cli import service_load as _service_load  # noqa: F401  (registers its commands)
from bioexit.cli._base import app

__all__ = ["app", "main"]


def main() -> None:
    app()
