#!/usr/bin/env bash
# Builds sessionsim with profile-guided optimisation (PGO) for large sweeps, and checks
# that the optimised binary writes the same bytes as the plain release build.
#
#   scripts/pgo-build.sh            # -> target/pgo/sessionsim
#   scripts/pgo-build.sh --no-check # skip the comparison with the plain build
#
# Why: the engine's profile is flat (no function above ~5%), so the compiler's own
# inlining and code layout decide much of its speed. Trained on the bench workload, LLVM
# lays out the hot paths of the event loop and the access evaluation as they run; on
# `experiments/bench.toml` this executes ~22% fewer instructions (docs/performance.md,
# "Issue 15, seventh round"). PGO changes only how the code is compiled, never what it
# computes: results stay byte-identical, and this script proves it on the bench, the
# quickstart (with its sign-in log) and the SIF sweep before it reports success.
#
# The method is the rustc book's ("Profile-guided Optimization"): an instrumented build
# (-Cprofile-generate), training runs, `llvm-profdata merge`, and a build with
# -Cprofile-use. It needs the toolchain's llvm-profdata (`rustup component add
# llvm-tools`). Builds pass `--target <host>` so that RUSTFLAGS reach only sessionsim and
# its dependencies, not build scripts or proc macros. Takes ~10 minutes on 2 cores.
#
# Exit codes: 0 built (and checked), 1 a step failed, 2 bad usage or a missing tool.
set -euo pipefail
cd "$(dirname "$0")/.."

check=1
for arg in "$@"; do
    case "$arg" in
        --no-check) check=0 ;;
        -h | --help)
            sed -n '2,6p' "$0"
            exit 0
            ;;
        *)
            echo "pgo-build.sh: unknown argument '$arg' (try --help)" >&2
            exit 2
            ;;
    esac
done

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [[ ! -x "$profdata" ]]; then
    echo "pgo-build.sh: $profdata not found; install it with 'rustup component add llvm-tools'" >&2
    exit 2
fi

# RUSTFLAGS is split at whitespace, so it cannot carry a path with a space in it.
if [[ $PWD =~ [[:space:]] ]]; then
    echo "pgo-build.sh: the checkout's path has whitespace ($PWD), which RUSTFLAGS cannot carry; build from a path without it" >&2
    exit 2
fi
root=$PWD/target/pgo
raw=$root/profraw
merged=$root/merged.profdata
train=$root/train
rm -rf "$raw" "$train"
mkdir -p "$raw" "$train"

echo "pgo-build.sh: 1/4 instrumented build (target/pgo-generate)" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$raw" CARGO_TARGET_DIR=$PWD/target/pgo-generate \
    cargo build --release --quiet --target "$host"
instrumented=$PWD/target/pgo-generate/$host/release/sessionsim

# Training: the engine at scale (the bench), every design kind and the sign-in log (the
# quickstart, smaller), and the SIF sweep's policies. Outputs are thrown away.
echo "pgo-build.sh: 2/4 training runs" >&2
"$instrumented" run experiments/bench.toml --users 5000 --out "$train/bench" --quiet --force
"$instrumented" run experiments/quickstart.toml --users 500 --signin-log-attackers --out "$train/qs" --quiet --force
"$instrumented" run experiments/sif-sweep.toml --users 500 --out "$train/sweep" --quiet --force

echo "pgo-build.sh: 3/4 merging the profiles into $merged" >&2
"$profdata" merge -o "$merged" "$raw"

echo "pgo-build.sh: 4/4 optimised build (target/pgo)" >&2
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$merged" CARGO_TARGET_DIR=$root \
    cargo build --release --quiet --target "$host"
# A copy, not cargo's hard link: another cargo command on target/pgo (a bench, say, which
# builds under another profile that the profile's function names do not match) would
# replace the linked file with a binary built without the profile.
optimised=$root/sessionsim
cp "$root/$host/release/sessionsim" "$optimised"

if [[ $check == 1 ]]; then
    echo "pgo-build.sh: checking that it writes the plain release build's bytes" >&2
    cargo build --release --quiet
    plain=$PWD/target/release/sessionsim
    cmpdir=$root/check
    rm -rf "$cmpdir"
    for bin in plain optimised; do
        exe=${!bin}
        "$exe" run experiments/bench.toml --users 5000 --out "$cmpdir/$bin/bench" --quiet --force
        "$exe" run experiments/quickstart.toml --signin-log-attackers --out "$cmpdir/$bin/qs" --quiet --force
        "$exe" run experiments/sif-sweep.toml --users 1000 --out "$cmpdir/$bin/sweep" --quiet --force
        # The manifest's run section and wall_seconds say how fast the run went; they are left
        # out as experiments/cluster/smoke.sh and tests/run_cli.rs leave them out. Every
        # other byte must match.
        find "$cmpdir/$bin" -name manifest.json \
            -exec sed -i -e '/^  "run": {/,/^  }/d' -e '/^    "wall_seconds": /d' {} +
    done
    if ! diff -r "$cmpdir/plain" "$cmpdir/optimised" >&2; then
        rm -f "$optimised"
        echo "pgo-build.sh: the PGO binary's outputs differ from the plain build's; removed it" >&2
        exit 1
    fi
    echo "pgo-build.sh: outputs identical to the plain release build's" >&2
fi
echo "$optimised"
