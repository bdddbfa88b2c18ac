#!/usr/bin/env python3
"""Does a study's result depend on how long it ran? (docs/model.md, "Steady state")

Runs each experiment given (default: every experiment in experiments/ but the benches)
for 7 and for 28 days, and prints each design's prompts per user-day for both, and their
ratio. The steady start's goal is a 7-day figure within 15% of the 28-day one for every
design, or within 0.01 prompts per user-day where both are that close to zero (a design
that blocks nearly everything prompts a few times in thousands of user-days, and the
ratio of two such counts is noise). Extra arguments go to `sessionsim run` (e.g. --start cold, --warmup 7d).

    scripts/steady-state.py [--users N] [--replicates N] [EXPERIMENT.toml ...] [-- RUN ARGS]
"""
import argparse
import csv
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "sessionsim"


def run(exp, days, users, replicates, extra, out):
    cmd = [str(BIN), "run", str(exp), "--days", str(days), "--users", str(users),
           "--replicates", str(replicates), "--out", str(out), "--quiet", "--force"] + extra
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out / "summary.csv", newline="") as f:
        return {r["design"]: float(r["prompts_per_user_day"]) for r in csv.DictReader(f)}


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--replicates", type=int, default=1)
    ap.add_argument("--short", type=int, default=7)
    ap.add_argument("--long", type=int, default=28)
    ap.add_argument("experiments", nargs="*")
    a = ap.parse_args(argv)
    exps = a.experiments or [p for p in sorted((ROOT / "experiments").glob("*.toml"))
                             if not p.name.startswith("bench")]
    worst = 0.0
    print(f"{'experiment':<14} {'design':<34} {a.short:>5}d {a.long:>6}d  ratio")
    with tempfile.TemporaryDirectory() as tmp:
        for exp in exps:
            exp = pathlib.Path(exp)
            short = run(exp, a.short, a.users, a.replicates, extra, pathlib.Path(tmp) / "s")
            long = run(exp, a.long, a.users, a.replicates, extra, pathlib.Path(tmp) / "l")
            for design, s in short.items():
                l = long[design]
                ratio = s / l if l > 0 else float("inf") if s > 0 else 1.0
                near_zero = abs(s - l) <= 0.01 and max(s, l) < 0.1
                if not near_zero:
                    worst = max(worst, abs(ratio - 1.0))
                flag = "" if abs(ratio - 1.0) <= 0.15 or near_zero else "  <- off by more than 15%"
                print(f"{exp.stem:<14} {design:<34} {s:7.4f} {l:7.4f}  {ratio:5.2f}{flag}")
    print(f"largest difference (designs above 0.1 prompts per user-day or 0.01 apart): {worst:.1%}")


if __name__ == "__main__":
    main()
