#!/usr/bin/env bash
# A real Slurm job array on this machine: installs slurm-wlm and munge (Debian) when missing,
# starts munged, slurmctld and slurmd of its own on 127.0.0.1 (ports 16817/16818, a private
# munge socket and key, everything under one temporary folder), submits
# deploy/slurm/talktrace.sbatch as a 4-task array over TestAudio/recordings, then the join as a
# job depending on the array (afterok), and checks that the outputs are byte-identical to a
# one-machine `talktrace batch`. Stops exactly the daemons it started (by pid) on exit.
# Bounded: every wait has a deadline; the whole test takes about 10-20 s.
#
#   scripts/cluster/slurm-test.sh [path/to/talktrace]      (default .build/debug/talktrace)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
talktrace=$(realpath "${1:-.build/debug/talktrace}")
[ -x "$talktrace" ] || { echo "slurm-test: $talktrace is not built" >&2; exit 1; }

missing=()
for p in slurm-wlm munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "slurm-test: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dir=$(mktemp -d /tmp/talktrace-slurm-XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  [ "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "slurm-test: FAILED: $*" >&2; for f in "$dir"/log/*; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

mkdir -p "$dir"/{state,spool,log,munge}
chmod 700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"
for _ in $(seq 50); do [ -s "$dir/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$dir/munge/munged.pid")")

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024) - 512}' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
ClusterName=talktrace-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=10 State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -i -f "$SLURM_CONF"
for _ in $(seq 100); do [ -s "$dir/slurmctld.pid" ] && break; sleep 0.1; done
[ -s "$dir/slurmctld.pid" ] || fail "slurmctld did not start"
pids+=("$(cat "$dir/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N "$host"
for _ in $(seq 100); do [ -s "$dir/slurmd.pid" ] && break; sleep 0.1; done
[ -s "$dir/slurmd.pid" ] || fail "slurmd did not start"
pids+=("$(cat "$dir/slurmd.pid")")
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break; sleep 0.2; done
sinfo -h -o %t | grep -qE '^(idle|mix|alloc)' || fail "the node did not come up: $(sinfo -h 2>&1)"

rec=$root/TestAudio/recordings ctr=$root/TestAudio/ctr
work=$dir/work
mkdir -p "$work"
"$talktrace" batch "$rec" --ctr "$ctr" --out "$work/single" --quiet >/dev/null 2>&1 || fail "one-machine batch"
"$talktrace" manifest "$rec" --out "$work/manifest.jsonl" 2>/dev/null
started=$(date +%s.%N)
jid=$(sbatch --parsable --array=0-3 --chdir="$work" --output="$dir/log/shard-%a.out" --export="ALL,TALKTRACE=$talktrace" \
  "$root/deploy/slurm/talktrace.sbatch" "$work/manifest.jsonl" "$work/out") || fail "sbatch"
join=$(sbatch --parsable --dependency="afterok:$jid" --chdir="$work" --output="$dir/log/join.out" \
  --wrap "exec '$talktrace' join '$work/out' --ctr '$ctr' --out '$work/final' --quiet") || fail "sbatch join"
echo "slurm-test: array job $jid (4 shards), join job $join"
deadline=$(( $(date +%s) + 120 ))
while squeue -h -j "$jid,$join" 2>/dev/null | grep -q .; do
  [ "$(date +%s)" -lt "$deadline" ] || { squeue >&2; fail "jobs still queued or running after 120 s"; }
  sleep 0.5
done
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
for i in 0 1 2 3; do
  [ -s "$work/out/shards/$i-of-4/complete.json" ] || fail "shard $i-of-4 has no completion marker"
done
for f in recordings.jsonl contacts.jsonl recordings.csv talktrace.sqlite; do
  cmp "$work/single/$f" "$work/final/$f" || fail "$f differs between the Slurm array + join and the one-machine batch"
done
python3 - "$work/single/summary.json" "$work/final/summary.json" <<'PY' || fail "summary.json differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("WallSeconds", "SpeedTimesRealTime", "Jobs"):
    a.pop(k); b.pop(k)
sys.exit(0 if a == b else 1)
PY
n=$(wc -l < "$work/final/recordings.jsonl")
echo "slurm-test: OK: 4 Slurm array tasks + join = one-machine batch, byte for byte ($n recordings, ${elapsed}s from sbatch to the join's end)"
