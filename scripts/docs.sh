#!/usr/bin/env bash
# Builds the API reference from the public headers with Doxygen: build/docs/html/index.html.
# Warnings fail the build (WARN_AS_ERROR), so the reference stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || bash scripts/install-deps.sh
export XGRAD_DOCS_OUT=${1:-build/docs}
mkdir -p "$XGRAD_DOCS_OUT"
doxygen Doxyfile
echo "API reference: $XGRAD_DOCS_OUT/html/index.html"
