#!/usr/bin/env bash
# Spark (local mode), Dask and Ray Data piping 50 recordings through `talktrace analyze --jsonl`,
# checked against the published schema (scripts/cluster/spark_job.py says what is checked).
# Installs openjdk-17-jre-headless (Debian) and a venv with pyspark, dask, ray[data] and
# jsonschema, kept in ~/.cache/talktrace/spark-venv for the next run (pyspark is a ~320 MB
# download, ray about 70 MB with pyarrow and pandas: bounded to 15 minutes). Skips, loudly, only when PyPI cannot be reached.
#
#   scripts/cluster/spark-test.sh [path/to/talktrace]      (default .build/debug/talktrace)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
talktrace=$(realpath "${1:-.build/debug/talktrace}")
[ -x "$talktrace" ] || { echo "spark-test: $talktrace is not built" >&2; exit 1; }

if ! dpkg-query -W -f='${Status}' openjdk-17-jre-headless 2>/dev/null | grep -q "install ok installed"; then
  echo "spark-test: installing openjdk-17-jre-headless" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi
venv=${TALKTRACE_SPARK_VENV:-$HOME/.cache/talktrace/spark-venv}
if ! "$venv/bin/python" -c "import pyspark, dask.bag, ray.data, jsonschema" 2>/dev/null; then
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  echo "spark-test: installing pyspark, dask, ray, jsonschema into $venv (pyspark is about 320 MB)" >&2
  if ! timeout 900 "$venv/bin/pip" install -q --disable-pip-version-check pyspark "dask[bag]" "ray[data]" jsonschema; then
    if ! "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/pyspark/', timeout=15)" 2>/dev/null; then
      echo "spark-test: ******** SKIPPED: the Python package index cannot be reached, so pyspark cannot be installed ********" >&2
      exit 0
    fi
    echo "spark-test: FAILED: pip could not install pyspark although the package index answers" >&2
    exit 1
  fi
fi

dir=$(mktemp -d /tmp/talktrace-spark-XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/rec"
# 50 recordings: the fixture calls, copied under new names until there are 49, and a damaged one.
mapfile -t fixtures < <(find "$root/TestAudio/recordings" -name '*.wav' | sort)
for i in $(seq 0 48); do
  src=${fixtures[$((i % ${#fixtures[@]}))]}
  cp "$src" "$dir/rec/$(printf '%02d' "$i")-$(basename "$src")"
done
printf 'RIFF damaged' > "$dir/rec/zz-damaged.wav"
"$talktrace" schema > "$dir/schema.json"
export JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
export PYSPARK_PYTHON="$venv/bin/python"
timeout 600 "$venv/bin/python" "$root/scripts/cluster/spark_job.py" "$talktrace" "$dir/schema.json" "$dir/rec"
