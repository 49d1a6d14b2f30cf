#!/usr/bin/env bash
# Runs the libFuzzer target on the WAV reader and the analyzer (Fuzz/) for a bounded time.
#   scripts/fuzz.sh [SECONDS]     default 60
# The corpus starts from TestAudio's small files and grows in Fuzz/corpus (not committed).
# A crashing input is written to Fuzz/crashes/; keep it as a regression test (see FuzzTests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
seconds="${1:-60}"
swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2
bin="$(swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --show-bin-path)/WAVFuzzer"
mkdir -p Fuzz/corpus Fuzz/crashes
# Seeds: the small bad files, sox's IMA ADPCM, and 0.25 s of the clean call as complete PCM16,
# float, 24-bit and RF64 files (small, so mutations reach the header as often as the audio).
cp TestAudio/bad/*.wav TestAudio/formats/ima-adpcm-8k.wav Fuzz/corpus/
python3 - <<'PY'
import struct, wave
with wave.open("TestAudio/formats/agent-left.wav", "rb") as w:
    pcm = w.readframes(2000)  # 0.25 s, stereo 16-bit
samples = struct.unpack("<%dh" % (len(pcm) // 2), pcm)
def wav(tag, bits, data, magic=b"RIFF"):
    align = 2 * bits // 8
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, tag, 2, 8000, 8000 * align, align, bits)
    if magic == b"RF64":
        ds64 = b"ds64" + struct.pack("<IQQQI", 28, 72 + len(data), len(data), len(data) // align, 0)
        return b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + ds64 + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF) + data
    body = b"WAVE" + fmt + b"data" + struct.pack("<I", len(data)) + data
    return magic + struct.pack("<I", len(body)) + body
seeds = {
    "pcm16": wav(1, 16, pcm),
    "float": wav(3, 32, struct.pack("<%df" % len(samples), *[s / 32768 for s in samples])),
    "pcm24": wav(1, 24, b"".join(struct.pack("<i", s * 256)[:3] for s in samples)),
    "rf64": wav(1, 16, pcm, b"RF64"),
}
for name, data in seeds.items():
    open("Fuzz/corpus/seed-%s.wav" % name, "wb").write(data)
PY
"$bin" Fuzz/corpus -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
  -artifact_prefix=Fuzz/crashes/ -print_final_stats=1
