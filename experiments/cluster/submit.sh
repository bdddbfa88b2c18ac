#!/usr/bin/env bash
# Submits a sharded study and its merge in one go:
#   experiments/cluster/submit.sh experiments/sif-sweep.toml 16 [extra run flags]
set -euo pipefail
experiment=${1:?usage: submit.sh EXPERIMENT.toml SHARDS [extra run flags]}
shards=${2:?usage: submit.sh EXPERIMENT.toml SHARDS [extra run flags]}
shift 2
here=$(dirname "$0")
array=$(sbatch --parsable --array="1-${shards}" "$here/shard.sbatch" "$experiment" "$@")
sbatch --dependency="afterok:${array}" "$here/merge.sbatch" "$experiment"
echo "submitted shards as job ${array}; the merge runs when they all succeed"
