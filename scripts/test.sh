#!/usr/bin/env bash
# Install everything (into .venv) and run the whole test suite: lint, types, tests.
source "$(dirname "$0")/_venv.sh" "[dev]"
ruff check src tests
ruff format --check src tests
mypy
pytest "$@"
