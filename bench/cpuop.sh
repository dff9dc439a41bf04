#!/usr/bin/env bash
# bench/cpuop.sh: CPU time (user + system) per benchmark op, of two or more
# variants alternated, for changes whose cost is partly in the kernel
# (system calls, file locks), which bench/icount.sh (user-space
# instructions) does not see. Less exact than icount.sh, and less affected
# by the machine's load than a timing: the time the process is not
# running does not count.
#
#   bench/cpuop.sh BENCHREGEXP DIR LABEL=COMMAND [LABEL=COMMAND...]
#
# COMMAND is a `go test -c` binary, with arguments or an `env VAR=VALUE`
# prefix if needed (split at spaces); it runs in DIR (its package
# directory). BENCHREGEXP selects one benchmark. Each variant runs the
# benchmark with LO and HI iterations and counts (cpu(HI) - cpu(LO)) /
# (HI - LO), so the set-up cancels out; the variants alternate, ROUNDS
# times. Prints per variant min / median / max µs per op and, per round,
# its ratio to the first variant.
#
# Environment: LO [10000], HI [50000], ROUNDS [5].
#
# Example, SQLite's Exclusive mode against the default on the status route:
#   CGO_ENABLED=0 go test -c -o /tmp/h.test ./httpadapter
#   bench/cpuop.sh 'ReadRoutes/status-new$' httpadapter \
#     default=/tmp/h.test "exclusive=env OPENKYC_BENCH_SQLITE_EXCLUSIVE=1 /tmp/h.test"
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,24p' "$0" >&2; exit 2; }
re=$1 dir=$2
shift 2
exec python3 - "$re" "$dir" "${LO:-10000}" "${HI:-50000}" "${ROUNDS:-5}" "$@" <<'PY'
import os, statistics, subprocess, sys

re, wd, lo, hi, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
variants = []
for v in sys.argv[6:]:
    label, sep, cmd = v.partition("=")
    if not sep or not cmd:
        sys.exit(f"cpuop.sh: want LABEL=COMMAND, got {v!r}")
    variants.append((label, cmd.split()))

def cpu(cmd, n):
    p = subprocess.Popen(cmd + ["-test.run", "^$", "-test.bench", re, "-test.benchtime", f"{n}x"],
                         cwd=wd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0 or b"Benchmark" not in out:
        sys.exit(f"cpuop.sh: {' '.join(cmd)} failed or ran no benchmark:\n{out.decode(errors='replace')}")
    return ru.ru_utime + ru.ru_stime

per = {label: [] for label, _ in variants}
for r in range(rounds):
    order = variants if r % 2 == 0 else variants[::-1]
    for label, cmd in order:
        per[label].append((cpu(cmd, hi) - cpu(cmd, lo)) / (hi - lo) * 1e6)
    print(f"round {r+1}: " + ", ".join(f"{l} {per[l][-1]:.2f}" for l, _ in variants), file=sys.stderr)

first = variants[0][0]
print(f"CPU µs per op of {re} (LO={lo}, HI={hi}, {rounds} rounds alternated): min / median / max")
for label, _ in variants:
    xs = per[label]
    line = f"{label:>12}: {min(xs):.2f} / {statistics.median(xs):.2f} / {max(xs):.2f}"
    if label != first:
        rs = [a / b for a, b in zip(xs, per[first])]
        line += f"   x{first}: {min(rs):.2f} / {statistics.median(rs):.2f} / {max(rs):.2f}"
    print(line)
PY
