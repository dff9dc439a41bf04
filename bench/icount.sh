#!/usr/bin/env bash
# bench/icount.sh: instructions per benchmark op, counted by valgrind's
# callgrind, so that two builds can be compared on a machine whose load
# makes timings useless (callgrind counts the same instructions whatever
# else runs). It runs the benchmark twice, with LO and HI iterations, and
# prints (instructions(HI) - instructions(LO)) / (HI - LO): the set-up
# cancels out.
#
#   bench/icount.sh TESTBINARY BENCHREGEXP [DIR]
#
# TESTBINARY is a `go test -c` binary (build it with CGO_ENABLED=0);
# BENCHREGEXP selects one benchmark; DIR is where it runs (its package
# directory, for testdata). Environment: LO [300], HI [1300].
#
# Example, old against new:
#   (git worktree add /tmp/base HEAD~1 && cd /tmp/base && CGO_ENABLED=0 go test -c -o /tmp/old.test ./httpadapter)
#   CGO_ENABLED=0 go test -c -o /tmp/new.test ./httpadapter
#   bench/icount.sh /tmp/old.test 'ReadRoutes/status-new$' httpadapter
#   bench/icount.sh /tmp/new.test 'ReadRoutes/status-new$' httpadapter
#
# Go's asynchronous preemption is turned off (GODEBUG=asyncpreemptoff=1):
# callgrind aborts on its signals. The count includes the garbage
# collector's share, which varies by about 1% between runs.
# Needs valgrind (Debian package).
set -euo pipefail
bin=$1 re=$2 dir=${3:-.}
lo=${LO:-300} hi=${HI:-1300}
command -v valgrind >/dev/null || { echo "icount.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cd "$dir"
ir() {
  GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" -test.run '^$' -test.bench "$re" -test.benchtime "${1}x" -test.cpu 1 2>&1 |
    awk '/Collected/ {gsub(",", "", $4); print $4}'
}
a=$(ir "$lo") b=$(ir "$hi")
[ -n "$a" ] && [ -n "$b" ] || { echo "icount.sh: callgrind gave no count (does '$re' match one benchmark?)" >&2; exit 1; }
echo $(((b - a) / (hi - lo)))
