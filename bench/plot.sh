#!/usr/bin/env bash
# bench/plot.sh: the growth curves of issue 19 as PNGs in docs/perf/, drawn
# by gnuplot (Debian package gnuplot-nox) from the raw `go test -bench`
# output kept in docs/perf/data/:
#
#   grant-pages.png          page latency against offset (BenchmarkGrantPage)
#   status-requirements.png  status latency against the ladder's size (BenchmarkStatusRequirements)
#   dispatch-backlog.png     dispatch rate against backlog (BenchmarkDispatchBacklog)
#   dispatch-ratio.png       the same as a ratio to the plain loop measured just before each point
#   claim-backlog.png        one claim's latency against pending deliveries (BenchmarkClaim)
#
#   bench/plot.sh            plot from the data files as they are
#   bench/plot.sh run        run the benchmarks first (overwrites the data files), then plot
#
# Sizes for "run" (environment): OPENKYC_BENCH_GRANTS [1000000],
# OPENKYC_BENCH_REQUIREMENTS [6,24,96,384], OPENKYC_BENCH_BACKLOG
# [100,1000,10000,100000], OPENKYC_BENCH_STORES [all]; PostgreSQL runs when
# OPENKYC_TEST_POSTGRES_DSN is set. Several runs (-count) are averaged.
set -euo pipefail
shopt -s nullglob # NAME.*.txt may match nothing
cd "$(dirname "$0")/.."
DATA=${PLOT_DATA:-docs/perf/data}
OUTDIR=${PLOT_OUT:-docs/perf}
mkdir -p "$DATA"

if ! command -v gnuplot >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y gnuplot-nox >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y gnuplot-nox >/dev/null 2>&1; } || true
  fi
  command -v gnuplot >/dev/null || { echo "plot.sh: FAIL: gnuplot is missing (Debian: apt-get install gnuplot-nox)" >&2; exit 1; }
fi

if [ "${1:-}" = run ]; then
  export OPENKYC_BENCH_BACKLOG=${OPENKYC_BENCH_BACKLOG:-100,1000,10000,100000}
  bench() { # file pattern benchtime
    echo "plot.sh: go test -bench '$2' -benchtime $3 > $DATA/$1" >&2
    go test -run '^$' -bench "$2" -benchtime "$3" -timeout 3h ./bench/ | tee "$DATA/$1.tmp" >&2
    mv "$DATA/$1.tmp" "$DATA/$1"
  }
  bench grant-pages.txt 'GrantPage' 300x
  bench status-requirements.txt 'StatusRequirements' 300x
  bench dispatch-backlog.txt 'DispatchBacklog' 5000x
  bench claim-backlog.txt 'Claim' 300x
fi

TMP=$(mktemp -d)
trap '[ -n "${PLOT_KEEP:-}" ] || rm -rf "$TMP"' EXIT

# rows NAME: the benchmark lines of NAME.txt and NAME.*.txt as
# "key<TAB>ns/op<TAB>events/s<TAB>x-plain", the best of all runs per key.
rows() {
  awk '/^Benchmark/ {
      name = $1; sub(/-[0-9]+$/, "", name)
      ns = ""; ev = ""; xp = ""
      for (i = 3; i < NF; i++) {
        if ($(i+1) == "ns/op") ns = $i + 0
        if ($(i+1) == "events/s") ev = $i + 0
        if ($(i+1) == "x-plain") xp = $i + 0
      }
      if (!(name in bns) || ns < bns[name]) bns[name] = ns
      if (!(name in bev) || ev > bev[name]) bev[name] = ev
      if (!(name in bxp) || xp > bxp[name]) bxp[name] = xp
    }
    END { for (k in bns) printf "%s\t%g\t%g\t%g\n", k, bns[k], bev[k], bxp[k] }' "$DATA/$1".txt "$DATA/$1".*.txt 2>/dev/null | sort
}

# have NAME: NAME.txt or a NAME.*.txt holds benchmark lines (no pipe: with
# pipefail, grep -q closing it early would fail the cat before it).
have() { grep -qs '^Benchmark' "$DATA/$1".txt "$DATA/$1".*.txt; }

if have grant-pages; then
  rows grant-pages >"$TMP/grants"
  for store in sqlite postgres; do
    for l in all client tag; do
      # offset 0 is drawn at 1 on the log axis
      awk -F'\t' -v p="BenchmarkGrantPage/$store/$l/offset=" 'index($1, p) == 1 {
          o = substr($1, length(p) + 1); printf "%d\t%g\n", (o == 0 ? 1 : o), $2 / 1000 }' "$TMP/grants" | sort -n >"$TMP/g-$store-$l.dat"
    done
  done
fi
if have status-requirements; then
  rows status-requirements >"$TMP/status"
  for store in memory sqlite postgres; do
    awk -F'\t' -v p="BenchmarkStatusRequirements/$store/requirements=" 'index($1, p) == 1 {
        printf "%d\t%g\n", substr($1, length(p) + 1), $2 / 1000 }' "$TMP/status" | sort -n >"$TMP/s-$store.dat"
  done
fi
if have dispatch-backlog; then
  rows dispatch-backlog >"$TMP/dispatch"
  for store in memory sqlite postgres; do
    awk -F'\t' -v p="BenchmarkDispatchBacklog/$store/backlog=" 'index($1, p) == 1 {
        printf "%d\t%g\t%g\n", substr($1, length(p) + 1), $3, $4 }' "$TMP/dispatch" | sort -n >"$TMP/d-$store.dat"
  done
  PLAIN=$(awk -F'\t' '$1 == "BenchmarkDispatchBacklog/plain-post" {print $3}' "$TMP/dispatch")
fi
if have claim-backlog; then
  rows claim-backlog >"$TMP/claim"
  for store in memory sqlite postgres; do
    awk -F'\t' -v p="BenchmarkClaim/$store/pending=" 'index($1, p) == 1 {
        printf "%d\t%g\n", substr($1, length(p) + 1), $2 / 1000 }' "$TMP/claim" | sort -n >"$TMP/c-$store.dat"
  done
fi

gnuplot -e "tmp='$TMP'; out='$OUTDIR'; plain='${PLAIN:-0}'" bench/plot.gp
ls -l "$OUTDIR"/*.png >&2
