#!/usr/bin/env bash
# The main job on the bundled data: set up, build in release, batch-analyze TestAudio/recordings
# against TestAudio/ctr into out/testaudio, and analyze one call on the command line.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# --static-swift-stdlib: the Swift runtime and Foundation linked in, so the executable starts
# faster, needs no Swift installation to run, and peaks about 6 MB lower.
swift build -c release --product talktrace --static-swift-stdlib
bin=.build/release/talktrace
"$bin" batch TestAudio/recordings --ctr TestAudio/ctr --out out/testaudio --report
echo
first=$(find TestAudio/recordings -name '*.wav' | sort | head -1)
"$bin" analyze "$first"
