#!/usr/bin/env bash
# Smoke test of the Slurm recipe on this machine: a one-node Slurm, submit.sh with 4 shards,
# and the merged files compared with a single run's.
#
#   experiments/cluster/smoke.sh [EXPERIMENT.toml [SHARDS [extra run flags]]]
#   default: experiments/quickstart.toml 4 --users 400
#
# Needs root and apt (Debian 12 or similar): installs slurm-wlm and munge if missing, then
# starts munged, slurmctld and slurmd by hand (no systemd) with every file they write in a
# temporary folder, stops them on exit and removes the folder. Submits from a scratch folder
# laid out like the repository (links to everything but output/), so output/ stays
# untouched. Exits non-zero with a message on any failure, including a timeout
# (SMOKE_TIMEOUT seconds for the jobs, default 300). SMOKE_KEEP=1 keeps the folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

experiment=${1:-experiments/quickstart.toml}
shards=${2:-4}
if [ $# -ge 2 ]; then shift 2; else set -- --users 400; fi
timeout=${SMOKE_TIMEOUT:-300}
start=$SECONDS

say() { echo "smoke: $*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (it installs Slurm and runs slurmd, which starts jobs as their user)"
[ -f "$experiment" ] || die "no experiment file $experiment"

# --- a temporary folder for everything this writes, removed on exit -------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sessionsim-slurm.XXXXXX")
pids=()
jobs_submitted=()
cleanup() {
  local rc=$?
  set +e
  if [ ${#jobs_submitted[@]} -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
    scancel "${jobs_submitted[@]}" 2>/dev/null
    # Let slurmd end the job steps before it goes away.
    for _ in $(seq 20); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 1
    done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  if [ "$rc" != 0 ]; then
    for log in "$tmp"/work/slurm-*.out "$tmp"/log/*.stderr; do
      [ -s "$log" ] || continue
      echo "--- $log (last 12 lines)" >&2
      tail -n 12 "$log" >&2
    done
  fi
  if [ "${SMOKE_KEEP:-}" = 1 ]; then
    say "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/log"

# --- Slurm and munge from the distribution -----------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || die "Slurm is not installed and there is no apt-get to install it"
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(slurm-wlm munge)
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$tmp/log/apt.log" 2>&1; then
    # A fresh machine may have no package lists, or stale ones.
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${pkgs[@]}"; } \
      >"$tmp/log/apt.log" 2>&1 || { cat "$tmp/log/apt.log" >&2; die "apt-get install ${pkgs[*]}"; }
  fi
  say "installed in $((SECONDS - start)) s"
fi

# --- the binary ------------------------------------------------------------------------------
if command -v cargo >/dev/null; then
  cargo build --release --quiet || die "cargo build --release"
fi
[ -x target/release/sessionsim ] || die "no target/release/sessionsim and no cargo to build it"

# --- a one-node Slurm ----------------------------------------------------------------------
mkdir -p "$tmp"/{munge,ctld,slurmd,work}
host=$(uname -n) # hostname -s, without needing the hostname package
host=${host%%.*}
cpus=$(nproc)
((cpus > 2)) && cpus=2
mem_mb=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 * 9 / 10))
((mem_mb >= 2048)) || die "needs 2 GiB of memory for the shard jobs (--mem=2G)"

# munge: a fresh key, its own socket.
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$socket" \
  --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
  --log-file="$tmp/log/munged.log" --num-threads=2 2>"$tmp/log/munged.stderr" &
pids+=($!)

export SLURM_CONF=$tmp/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=smoke
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=17817
SlurmdPort=17818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/ctld
SlurmdSpoolDir=$tmp/slurmd
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=smoke Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

for _ in $(seq 50); do
  [ -S "$socket" ] && break
  sleep 0.1
done
[ -S "$socket" ] || die "munged did not start"
slurmctld -D -c 2>"$tmp/log/slurmctld.stderr" &
pids+=($!)
slurmd -D -N "$host" 2>"$tmp/log/slurmd.stderr" &
pids+=($!)

deadline=$((SECONDS + 60))
until sinfo -h -N -o '%T' 2>/dev/null | grep -qx 'idle'; do
  ((SECONDS < deadline)) || die "the node did not become idle in 60 s: $(sinfo -h -N -o '%T %E' 2>&1)"
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "a daemon (pid $pid) exited"
  done
  sleep 1
done
say "Slurm up after $((SECONDS - start)) s ($cpus CPUs, $mem_mb MB)"

# --- the recipe, from a folder laid out like the repository --------------------------------
work=$tmp/work
for d in "$repo"/*; do
  [ "$(basename "$d")" = output ] || ln -s "$d" "$work/"
done
cd "$work"
# One CPU per shard on this small node instead of the recipe's 8 (unless set, even to "").
export SESSIONSIM_SHARD_SBATCH_ARGS=${SESSIONSIM_SHARD_SBATCH_ARGS---cpus-per-task=1}
submitted=$(experiments/cluster/submit.sh "$experiment" "$shards" "$@") || die "submit.sh failed"
echo "$submitted" >&2
read -r array merge < <(sed -nE 's/.*as job ([0-9]+) and the merge as job ([0-9]+).*/\1 \2/p' <<<"$submitted") || true
[ -n "${merge:-}" ] || die "could not read the job ids from submit.sh's output"
jobs_submitted=("$array" "$merge")

state() { scontrol -o show job "$1" 2>/dev/null | grep -oE "$2=[^ ]*" | sed 's/^[^=]*=//' || true; }
never_reasons='^(PartitionConfig|BadConstraints|PartitionNodeLimit|PartitionTimeLimit|ReqNodeNotAvail|InvalidAccount|InvalidQOS)'
deadline=$((SECONDS + timeout))
while :; do
  merge_state=$(state "$merge" JobState | head -n 1)
  case $merge_state in
    COMPLETED) break ;;
    PENDING | RUNNING | CONFIGURING | COMPLETING) ;;
    *) die "merge job $merge is ${merge_state:-gone}" ;;
  esac
  if state "$array" JobState | grep -qvE '^(PENDING|RUNNING|CONFIGURING|COMPLETING|COMPLETED)$'; then
    die "a shard failed: $(scontrol -o show job "$array" | grep -oE 'JobId=[0-9]+ ArrayJobId=[0-9]+ ArrayTaskId=[0-9-]+|JobState=[A-Z_]+|ExitCode=[0-9:]+' | paste -sd ' ')"
  fi
  if [ "$(state "$merge" Reason | head -n 1)" = DependencyNeverSatisfied ]; then
    die "merge job $merge will never run: a shard did not succeed"
  fi
  # Pending for a reason that does not go away (e.g. more CPUs per task than the node has).
  never=$(state "$array" Reason | grep -E "$never_reasons" | head -n 1) || true
  [ -z "$never" ] || die "shard job $array cannot run here: $never"
  ((SECONDS < deadline)) || die "timeout: jobs not done after $timeout s"
  sleep 1
done
say "jobs done after $((SECONDS - start)) s"

# --- the merged files against a single run ------------------------------------------------
name=$(basename "$experiment" .toml)
merged=output/$name
ref=$tmp/ref
target/release/sessionsim run "$experiment" --out "$ref" --quiet --threads 1 "$@" ||
  die "the single reference run failed"
[ "$(ls "$merged")" = "$(ls "$ref")" ] ||
  die "the merge wrote other files than a single run: $(ls "$merged" | paste -sd ' ') vs $(ls "$ref" | paste -sd ' ')"
# The manifest differs only in its run section (threads, timing) and wall_seconds, like the
# tests compare it (tests/run_cli.rs, manifest_without_timing); every other file byte for byte.
untimed() { sed -e '/^  "run": {/,/^  }/d' -e '/^    "wall_seconds": /d' "$1"; }
compared=()
for f in "$ref"/*; do
  f=$(basename "$f")
  if [ "$f" = manifest.json ]; then
    cmp <(untimed "$ref/$f") <(untimed "$merged/$f") || die "manifest.json differs beyond its run section"
    compared+=("manifest.json (without run, wall_seconds)")
  else
    cmp "$ref/$f" "$merged/$f" || die "$f differs from a single run's"
    compared+=("$f")
  fi
done
say "OK in $((SECONDS - start)) s: $shards shards merged equal a single run of $experiment $*"
say "compared: ${compared[*]}"
