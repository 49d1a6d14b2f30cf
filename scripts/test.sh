#!/usr/bin/env bash
# Set up and run every test (unit, fixture and command-line end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
# Chromium renders the HTML report and the plot in the browser test; rsvg-convert makes PNG plots.
export TALKTRACE_EXTRA_PACKAGES="chromium librsvg2-bin"
source scripts/setup.sh
# The S3 tests run moto in server mode (signature checking on) behind a fault-injecting proxy.
python3 -c "import moto.server, flask_cors, boto3" 2>/dev/null || python3 -m pip install -q 'moto[server]>=5.1,<6'
swift build --build-tests
swift test --skip-build
