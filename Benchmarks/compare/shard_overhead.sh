#!/usr/bin/env bash
# What sharding costs over one batch, in instructions (callgrind: the same on a loaded machine,
# where CPU seconds of the same binary swing by ±15 %), with the outputs compared byte for byte:
#
#   Benchmarks/compare/shard_overhead.sh TALKTRACE BATCH_DIR [WORK_DIR]
#
# BATCH_DIR holds recordings/ and ctr/ (`python3 Benchmarks/compare/gen_calls.py batch DIR --calls
# 300`, or compare.sh's WORKDIR/batch-300). Runs `batch --jobs 2`, then `manifest` + 4 ×
# `batch --manifest --shard i/4 --jobs 2` + `join`, each under valgrind, and prints the
# instructions of each and the overhead. Slow: callgrind runs the program some 30× slower (12 calls:
# 18 s; 300 calls: minutes). With few calls the overhead is mostly the four extra process start-ups
# (12 calls: +59 %); it is per call and per process, not per audio second.
set -euo pipefail
talktrace=$1; batch=$2; work=${3:-/tmp/talktrace-shard-overhead}
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
rm -rf "$work"; mkdir -p "$work"
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >/dev/null 2>"$work/valgrind.log" \
    || { tail -5 "$work/valgrind.log" >&2; exit 1; }
  grep -o 'refs: *[0-9,]*' "$work/valgrind.log" | tr -d ', refs:'
}
b=$(ir "$talktrace" batch "$batch/recordings" --ctr "$batch/ctr" --out "$work/batch" --jobs 2 --quiet)
m=$(ir "$talktrace" manifest "$batch/recordings" --out "$work/manifest.jsonl")
s=""
for i in 0 1 2 3; do
  s="$s $(ir "$talktrace" batch --manifest "$work/manifest.jsonl" --shard "$i/4" --out "$work/shards" --jobs 2 --quiet)"
done
j=$(ir "$talktrace" join "$work/shards" --ctr "$batch/ctr" --out "$work/joined")
for f in recordings.jsonl contacts.jsonl recordings.csv talktrace.sqlite; do
  cmp -s "$work/batch/$f" "$work/joined/$f" || { echo "shard_overhead: $f differs between the batch and the join" >&2; exit 1; }
done
python3 - "$b" "$m" "$j" $s <<'EOF'
import sys
b, m, j, *s = (int(x) for x in sys.argv[1:])
total = m + sum(s) + j
print(f"batch {b / 1e9:.3f} G; manifest {m / 1e9:.3f} G + 4 shards {sum(s) / 1e9:.3f} G + join {j / 1e9:.3f} G "
      f"= {total / 1e9:.3f} G: sharding overhead {100 * (total - b) / b:+.1f} % (outputs identical)")
EOF
