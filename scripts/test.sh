#!/usr/bin/env bash
# Set up and run every test (unit, fixture and command-line end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build --build-tests
swift test --skip-build
