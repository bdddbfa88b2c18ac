#!/usr/bin/env bash
# Submits a sharded study and its merge in one go:
#   experiments/cluster/submit.sh experiments/sif-sweep.toml 16 [extra run flags]
#
# Run it from the repository (or a folder with the same experiments/, models/ and target/):
# the jobs run in the folder they were submitted from and write output/ there. Slurm's own
# variables set site options for both jobs (SBATCH_PARTITION, SBATCH_ACCOUNT, ...);
# SESSIONSIM_SHARD_SBATCH_ARGS adds sbatch options to the shard array, overriding
# shard.sbatch's (e.g. "--cpus-per-task=2 --time=00:30:00").
set -euo pipefail
experiment=${1:?usage: submit.sh EXPERIMENT.toml SHARDS [extra run flags]}
shards=${2:?usage: submit.sh EXPERIMENT.toml SHARDS [extra run flags]}
shift 2
here=$(dirname "$0")
export SESSIONSIM_SHARDS=$shards # for both jobs (sbatch passes the environment on)
# shellcheck disable=SC2086 # word splitting of SESSIONSIM_SHARD_SBATCH_ARGS is intended
array=$(sbatch --parsable --array="1-${shards}" ${SESSIONSIM_SHARD_SBATCH_ARGS:-} \
  "$here/shard.sbatch" "$experiment" "$@")
array=${array%%;*} # --parsable prints "id;cluster" on multi-cluster sites
merge=$(sbatch --parsable --dependency="afterok:${array}" "$here/merge.sbatch" "$experiment")
merge=${merge%%;*}
echo "submitted shards as job ${array} and the merge as job ${merge}; the merge runs when all shards succeed"
