#!/usr/bin/env bash
# Debian's chromium for the browser tests (Playwright drives it by executable_path; Playwright's
# own browser download is not used). Idempotent.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
fi
echo "export BIOEXIT_CHROMIUM=$(command -v chromium)"
