#!/usr/bin/env python3
"""Sets two callgrind profiles side by side, source line by source line.

    scripts/callgrind-lines.py BEFORE.out AFTER.out [N]

Prints the N (default 40) source lines whose own instructions (Ir) fell most from BEFORE
to AFTER, with both counts. Inlined code is counted at its own file and line (callgrind's
`fi=`/`fe=` records), so a line keeps its identity whatever the compiler inlined where. Compare builds of the
same source (say, plain and profile-guided): a line added to a file shifts the numbers of
every line below it.

Why: the engine's profile is flat, so a function-level diff of, say, the plain and the
profile-guided build mostly shows functions that vanished into their callers. Line by line,
the entry lines of functions the compiler kept out of line stand out (docs/performance.md,
"tenth session"). Profiles come from e.g.

    valgrind --tool=callgrind --callgrind-out-file=plain.out \\
        target/release/sessionsim run experiments/bench.toml --users 2000 --threads 1 \\
        --out /tmp/cg --quiet --force
"""
import collections
import re
import sys

NAMED = re.compile(r"\((\d+)\)(?: (.*))?")


def own_cost_by_line(path):
    """Sums each (file, line)'s own instructions; the costs of calls are left out."""
    files = {}
    cost = collections.Counter()
    current_file = None
    line = 0
    call_line_next = False

    def file_name(text):
        m = NAMED.match(text)
        if not m:
            return text
        if m.group(2):
            files[m.group(1)] = m.group(2)
        return files.get(m.group(1))

    with open(path) as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if not raw:
                continue
            if raw.startswith(("fl=", "fi=", "fe=")):
                current_file = file_name(raw[3:])
            elif raw.startswith(("cfi=", "cfl=")):
                file_name(raw[4:])  # register the name; the callee's file is not ours
            elif raw.startswith("calls="):
                call_line_next = True  # the next cost line is the call's inclusive cost
            elif raw[0].isdigit() or raw[0] in "+-*":
                fields = raw.split()
                pos = fields[0]
                if pos[0] in "+-":
                    line += int(pos)
                elif pos != "*":
                    line = int(pos)
                if call_line_next:
                    call_line_next = False
                elif len(fields) > 1:
                    cost[(current_file, line)] += int(fields[1])
    return cost


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    before = own_cost_by_line(sys.argv[1])
    after = own_cost_by_line(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) == 4 else 40
    print(f"total {sum(before.values()):,} -> {sum(after.values()):,}")
    lines = sorted(set(before) | set(after), key=lambda k: after[k] - before[k])
    for key in lines[:n]:
        name = (key[0] or "?").split("/src/")[-1]
        print(f"{before[key]:14,} {after[key]:14,} {after[key] - before[key]:+14,}  {name}:{key[1]}")


if __name__ == "__main__":
    main()
