#!/usr/bin/env bash
# Set up and run every test (unit, fixture and command-line end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
# Chromium renders the HTML report and the plot in the browser test; rsvg-convert makes PNG plots.
export TALKTRACE_EXTRA_PACKAGES="chromium librsvg2-bin"
source scripts/setup.sh
swift build --build-tests
swift test --skip-build
