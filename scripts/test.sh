#!/usr/bin/env bash
# Set up and run every test (unit, fixture and command-line end-to-end), then the cluster tests:
# a real Slurm job array on this machine and Spark, Dask and Ray jobs piping through analyze --jsonl
# (each bounded by a timeout; scripts/cluster/ says what they do).
set -euo pipefail
cd "$(dirname "$0")/.."
# Chromium renders the HTML report and the plot in the browser test; rsvg-convert makes PNG plots.
export TALKTRACE_EXTRA_PACKAGES="chromium librsvg2-bin"
source scripts/setup.sh
# The S3 tests run moto in server mode (signature checking on) behind a fault-injecting proxy.
python3 -c "import moto.server, flask_cors, boto3" 2>/dev/null || python3 -m pip install -q 'moto[server]>=5.1,<6'
swift build --build-tests
swift test --skip-build
timeout 300 scripts/cluster/slurm-test.sh .build/debug/talktrace
timeout 1200 scripts/cluster/spark-test.sh .build/debug/talktrace
