#!/usr/bin/env bash
# bench/http.sh: the read and write routes of the demo server measured from
# outside the process, as a user's load arrives, against a bare net/http
# server that writes the same bytes with the same headers.
#
# It builds examples/server, bench/bare and bench/seed; starts the demo
# server on a fresh data directory (it seeds the demo users), stops it, adds
# a subject waiting at the wizard's document step and ANSWER_SUBJECTS fresh
# subjects for answer submissions (bench/seed), then starts
#   - openkyc       (-log-level warn) on that directory,
#   - openkyc-info  (-log-level info, JSON access log to a file) on another copy,
#   - bare          (answers captured from openkyc at its start),
# all on 127.0.0.1, and runs wrk (1 thread, 16 connections) against each
# route, alternating bare and openkyc (and warn and info), ROUNDS times.
# Before each run it waits until the servers are idle (no CPU used for a
# while), so a previous run's leftovers (event deliveries) do not count.
#
# Prints per route: bare and openkyc req/s (min / median / max over rounds)
# and the ratio openkyc/bare of each round (min / median / max); the answer
# submission also as an absolute rate; the access-log cost (info/warn); and
# how many error lines the warn server logged (requests wrk abandons at the
# end of each run are logged at debug, so they are no longer among them).
#
# Environment (defaults in brackets):
#   DURATION [5s]      wrk duration per run     ROUNDS [5]       rounds
#   WARMUP [1s]        wrk warm-up per server and route
#   CONNECTIONS [16]   THREADS [1]
#   ROUTES [all]       regexp over route names (status-new, status-verified,
#                      grants, pending, wizard, wizard-pending, idverify, answer)
#   INFO_ROUTES [status-new grants pending wizard]  routes of the info/warn run ("" skips it)
#   ANSWER_SUBJECTS    subjects seeded for answers [ROUNDS*seconds*6000+20000]
#   OUT [bench/out]    where the raw results (TSV) and the summary go
#   MAX_SECONDS        hard limit for the whole script [computed, +600 s]
#   KEEP=1             keep the temporary directory (logs, databases)
#   BASE               path to another build of examples/server (e.g. main's,
#                      `git worktree add /tmp/base main && cd /tmp/base &&
#                      go build -o /tmp/base.server ./examples/server`): it
#                      serves a copy of the same data and runs in every round
#                      beside bare and openkyc (GET routes), and the summary
#                      adds each route's openkyc/base ratio per round, so a
#                      change is measured against its base in one run
#   SERVER_FLAGS       more flags for this build's servers (e.g.
#                      -sqlite-exclusive), split at spaces
#   BASE_FLAGS         more flags for BASE's server: with BASE a copy of
#                      this build (go build -o /tmp/same ./examples/server),
#                      BASE_FLAGS=-sqlite-exclusive measures a flag against
#                      the default in one run
#   KRATOS             path to an Ory Kratos binary built with -tags sqlite:
#                      adds Kratos's verification flow read and flow create
#                      (on SQLite, WAL, synchronous=NORMAL, log level
#                      warning) to every round, and prints openkyc's status
#                      and wizard resume against the flow read and its answer
#                      submission against the flow create (bench/RESULTS.md
#                      section 15 says how to build v1.3.1)
#
# Needs: go, wrk (Debian package; installed with apt-get when missing and
# running as root), curl, python3. Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
ROUTES=${ROUTES:-.}
INFO_ROUTES=${INFO_ROUTES-status-new grants pending wizard}
OUT=${OUT:-$ROOT/bench/out}
SERVER_FLAGS=${SERVER_FLAGS:-}
BASE_FLAGS=${BASE_FLAGS:-}

die() { echo "http.sh: FAIL: $*" >&2; exit 1; }
log() { echo "http.sh: $*" >&2; }

seconds() { # 5s, 500ms, 1m -> whole seconds (at least 1)
  local d=$1
  case $d in
    *ms) echo $(((${d%ms} + 999) / 1000)) ;;
    *s) echo "${d%s}" ;;
    *m) echo $((${d%m} * 60)) ;;
    *) echo "$d" ;;
  esac
}
DUR_S=$(seconds "$DURATION")
WARM_S=$(seconds "$WARMUP")
ANSWER_SUBJECTS=${ANSWER_SUBJECTS:-$((ROUNDS * DUR_S * 6000 + 20000))}

for tool in go curl python3; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "wrk is missing: apt-get install -y wrk"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; } || true
  fi
  command -v wrk >/dev/null || die "wrk is missing and could not be installed (Debian: apt-get install wrk)"
fi

# Hard time limit: runs x (duration + quiesce) + builds and seeding.
nroutes=8
MAX_SECONDS=${MAX_SECONDS:-$((ROUNDS * nroutes * 4 * (DUR_S + 8) + nroutes * 4 * WARM_S + 600))}

TMP=$(mktemp -d /tmp/openkyc-bench.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ "${KEEP:-}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$MAX_SECONDS" & s=$!
  wait "$s"
  echo "http.sh: FAIL: over MAX_SECONDS=$MAX_SECONDS, stopping" >&2
  kill -TERM $$
) 2>/dev/null &
PIDS+=($!)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_up() { # url pid name
  for _ in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || die "$3 exited at start (see its log under $TMP; KEEP=1 keeps it)"
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  die "$3 did not answer on $1 within 30 s"
}

start_kyc() { # name data port level -> sets LAST_PID
  "$TMP/openkyc" -addr "127.0.0.1:$3" -data "$2" -log-level "$4" $SERVER_FLAGS >"$TMP/$1.out" 2>"$TMP/$1.log" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  wait_up "http://127.0.0.1:$3/openapi.json" "$LAST_PID" "$1"
}

stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

cpu_ticks() { # utime + stime of a process, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# quiesce waits until every server used at most 1 tick (10 ms) of CPU in
# 0.5 s, twice in a row, for at most 60 s.
quiesce() {
  local calm=0 before after busy p
  local pids=("$KYC_PID" "$INFO_PID" "$BARE_PID" ${KRATOS_PID:-} ${BASE_PID:-})
  for _ in $(seq 1 120); do
    busy=0
    for p in "${pids[@]}"; do
      before=$(cpu_ticks "$p"); eval "b_$p=$before"
    done
    sleep 0.5
    for p in "${pids[@]}"; do
      after=$(cpu_ticks "$p"); eval "before=\$b_$p"
      [ $((after - before)) -gt 1 ] && busy=1
    done
    if [ $busy = 0 ]; then calm=$((calm + 1)); else calm=0; fi
    [ $calm -ge 2 ] && return 0
  done
  log "warning: servers still busy after 60 s"
}

log "building into $TMP"
go build -o "$TMP/openkyc" ./examples/server
go build -o "$TMP/bare" ./bench/bare
go build -o "$TMP/seed" ./bench/seed

log "demo data (first start of the server on a fresh directory)"
P0=$(free_port)
start_kyc first "$TMP/data" "$P0" warn
stop_pid "$LAST_PID"
log "seeding ANSWER_SUBJECTS=$ANSWER_SUBJECTS"
WIZARD_ID=$("$TMP/seed" -data "$TMP/data" -ladder examples/server/demo/ladder.json -answer-subjects "$ANSWER_SUBJECTS")
cp -a "$TMP/data" "$TMP/data-info"
[ -z "${BASE:-}" ] || cp -a "$TMP/data" "$TMP/data-base"

KYC_PORT=$(free_port)
start_kyc openkyc "$TMP/data" "$KYC_PORT" warn
KYC_PID=$LAST_PID
INFO_PORT=$(free_port)
start_kyc openkyc-info "$TMP/data-info" "$INFO_PORT" info
INFO_PID=$LAST_PID
BASE_PID=
if [ -n "${BASE:-}" ]; then
  [ -x "$BASE" ] || die "BASE=$BASE is not an executable"
  cp "$BASE" "$TMP/openkyc-base"
  BASE_PORT=$(free_port)
  "$TMP/openkyc-base" -addr "127.0.0.1:$BASE_PORT" -data "$TMP/data-base" -log-level warn $BASE_FLAGS >"$TMP/openkyc-base.out" 2>"$TMP/openkyc-base.log" &
  BASE_PID=$!
  PIDS+=("$BASE_PID")
  wait_up "http://127.0.0.1:$BASE_PORT/openapi.json" "$BASE_PID" openkyc-base
fi

# The routes: name, method, path, Authorization, X-User-Identifier, body.
ANSWER_FMT=benchanswer%025d
ANSWER_CAPTURE=$(printf "$ANSWER_FMT" 0)
T=$'\t'
cat >"$TMP/routes.tsv" <<EOF
status-new${T}GET${T}/api/v2/user/verification-status${T}Bearer demo-user-token${T}-${T}-
status-verified${T}GET${T}/api/v2/user/verification-status${T}Bearer demo-verified-token${T}-${T}-
grants${T}GET${T}/api/v2/my/verifications?limit=10&offset=0&sort_order=desc&sort_by=createTime${T}Bearer demo-verified-token${T}-${T}-
pending${T}GET${T}/external/api/v1/me/pending_verification_request${T}Bearer demo-pending-token${T}-${T}-
wizard${T}GET${T}/api/v2/my/verifications/wizard${T}Bearer sk-demo${T}$WIZARD_ID${T}-
wizard-pending${T}GET${T}/api/v2/my/verifications/wizard${T}Bearer demo-pending-token${T}-${T}-
idverify${T}GET${T}/api/v1/me/natural-person/id-verification${T}Bearer demo-verified-token${T}-${T}-
answer${T}POST${T}/api/v2/user/requirements/isBusiness${T}Bearer sk-demo${T}$ANSWER_CAPTURE${T}{"answer": false}
EOF

BARE_PORT=$(free_port)
"$TMP/bare" -addr "127.0.0.1:$BARE_PORT" -capture "http://127.0.0.1:$KYC_PORT" -routes "$TMP/routes.tsv" 2>"$TMP/bare.log" &
BARE_PID=$!
PIDS+=("$BARE_PID")
for _ in $(seq 1 300); do
  grep -q listening "$TMP/bare.log" 2>/dev/null && break
  kill -0 "$BARE_PID" 2>/dev/null || { cat "$TMP/bare.log" >&2; die "bare exited at start"; }
  sleep 0.1
done
grep -q listening "$TMP/bare.log" || die "bare did not start"

# Same bytes, same headers (but Date and the per-request X-Request-Id): the
# GET routes are fetched from both servers and compared. The answer route
# was captured for subject 0 and is not repeated (it would conflict).
fetch() { # base name method path auth ident body -> headers and body on stdout
  local args=(-s -D - -X "$3" "$1$4" -H "Authorization: $5")
  [ "$6" != - ] && args+=(-H "X-User-Identifier: $6")
  [ "$7" != - ] && args+=(--data "$7")
  curl "${args[@]}" | tr -d '\r' | grep -viE '^(date|x-request-id):'
}
while IFS=$'\t' read -r name method path auth ident body; do
  [ "$method" = GET ] || continue
  a=$(fetch "http://127.0.0.1:$KYC_PORT" "$name" "$method" "$path" "$auth" "$ident" "$body")
  b=$(fetch "http://127.0.0.1:$BARE_PORT" "$name" "$method" "$path" "$auth" "$ident" "$body")
  if [ "$a" != "$b" ]; then
    # Signed URLs (idverify) carry an expiry in seconds: they may differ
    # by a tick between two fetches, never in length.
    if [ "$name" = idverify ] && [ ${#a} = ${#b} ]; then continue; fi
    diff <(echo "$a") <(echo "$b") >&2 || true
    die "$name: the bare server's answer differs from openkyc's"
  fi
done <"$TMP/routes.tsv"
log "bare answers match openkyc's byte for byte (Date and X-Request-Id aside)"

# Ory Kratos beside openkyc (KRATOS set): its verification flows on SQLite
# in WAL mode with synchronous=NORMAL, as openkyc's store, logging warnings
# only, as openkyc's -log-level warn. Routes: the API flow's creation (it
# writes the flow) and its read by id. KRATOS_ROUTES lines: name, path (the
# summary pairs them with openkyc's routes).
KRATOS_PID=
if [ -n "${KRATOS:-}" ]; then
  [ -x "$KRATOS" ] || die "KRATOS=$KRATOS is not an executable"
  KPUB=$(free_port)
  KADM=$(free_port)
  mkdir -p "$TMP/kratos"
  cat >"$TMP/kratos/identity.schema.json" <<'JSON'
{"$id": "https://openkyc.test/identity.schema.json", "$schema": "http://json-schema.org/draft-07/schema#",
 "title": "Person", "type": "object",
 "properties": {"traits": {"type": "object", "additionalProperties": false, "required": ["email"],
   "properties": {"email": {"type": "string", "format": "email", "title": "E-Mail",
     "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}}}}}}}
JSON
  cat >"$TMP/kratos/kratos.yml" <<YML
dsn: sqlite://$TMP/kratos/db.sqlite?_fk=true&_journal_mode=WAL&_synchronous=NORMAL
serve:
  public: {base_url: "http://127.0.0.1:$KPUB/", host: 127.0.0.1, port: $KPUB}
  admin: {host: 127.0.0.1, port: $KADM}
selfservice:
  default_browser_return_url: http://127.0.0.1:9/
  flows:
    verification: {enabled: true, use: code}
    registration: {ui_url: "http://127.0.0.1:9/registration"}
    login: {ui_url: "http://127.0.0.1:9/login"}
  methods:
    code: {enabled: true}
    password: {enabled: true}
identity:
  default_schema_id: default
  schemas: [{id: default, url: "file://$TMP/kratos/identity.schema.json"}]
courier:
  smtp: {connection_uri: "smtp://127.0.0.1:9/?disable_starttls=true"}
log: {level: warning}
secrets:
  cookie: [openkyc-bench-cookie-secret-0000000]
  cipher: [openkyc-bench-cipher-secret-0000]
YML
  "$KRATOS" migrate sql -e --yes -c "$TMP/kratos/kratos.yml" >"$TMP/kratos/migrate.log" 2>&1 ||
    { tail -20 "$TMP/kratos/migrate.log" >&2; die "kratos migrate failed"; }
  "$KRATOS" serve --sqa-opt-out -c "$TMP/kratos/kratos.yml" >"$TMP/kratos/serve.log" 2>&1 &
  KRATOS_PID=$!
  PIDS+=("$KRATOS_PID")
  wait_up "http://127.0.0.1:$KPUB/health/ready" "$KRATOS_PID" kratos
  KFLOW=$(curl -sf "http://127.0.0.1:$KPUB/self-service/verification/api" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') || die "kratos: creating a verification flow failed"
  curl -sf -o /dev/null "http://127.0.0.1:$KPUB/self-service/verification/flows?id=$KFLOW" || die "kratos: reading flow $KFLOW failed"
  KRATOS_ROUTES="kratos-flow-read${T}/self-service/verification/flows?id=$KFLOW
kratos-flow-create${T}/self-service/verification/api"
  log "kratos $("$KRATOS" version 2>/dev/null | awk '/^Version/ {print $2}') on 127.0.0.1:$KPUB, flow $KFLOW"
fi

mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW="$OUT/http-$STAMP.tsv"
printf 'round\troute\tserver\treq_per_s\tnon2xx\terrors\tp50\tp99\n' >"$RAW"
ANSWER_NEXT=1

# run_wrk server port name method path auth ident body duration: sets ROW
# (one TSV row); runs in the main shell so that ANSWER_NEXT advances.
run_wrk() {
  local server=$1 port=$2 name=$3 method=$4 path=$5 auth=$6 ident=$7 body=$8 dur=$9
  local args=(-t "$THREADS" -c "$CONNECTIONS" -d "$dur" --latency -H "Authorization: $auth")
  [ "$ident" != - ] && [ "$method" = GET ] && args+=(-H "X-User-Identifier: $ident")
  local script=()
  if [ "$method" = POST ]; then
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
      "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$body")" >"$TMP/post.lua"
    cat bench/answer.lua >>"$TMP/post.lua"
    script=(-s "$TMP/post.lua")
  fi
  local url="http://127.0.0.1:$port$path"
  local o
  if [ "$method" = POST ]; then
    o=$(timeout $(($(seconds "$dur") + 30)) wrk "${args[@]}" "${script[@]}" "$url" -- "$ANSWER_NEXT" "$ANSWER_FMT") || die "wrk failed on $server $name"
    if [ "$server" != bare ]; then
      local used
      used=$(echo "$o" | awk '/^USED/ {print $2}')
      ANSWER_NEXT=$((ANSWER_NEXT + used))
      [ "$ANSWER_NEXT" -lt "$ANSWER_SUBJECTS" ] || die "the answer runs used all $ANSWER_SUBJECTS seeded subjects: raise ANSWER_SUBJECTS"
    fi
  else
    o=$(timeout $(($(seconds "$dur") + 30)) wrk "${args[@]}" "$url") || die "wrk failed on $server $name"
  fi
  local rps non2xx errs p50 p99
  rps=$(echo "$o" | awk '/^Requests\/sec:/ {print $2}')
  non2xx=$(echo "$o" | awk '/Non-2xx or 3xx responses:/ {print $NF}')
  errs=$(echo "$o" | awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}')
  p50=$(echo "$o" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$o" | awk '$1 == "99%" {print $2}')
  [ -n "$rps" ] || { echo "$o" >&2; die "no Requests/sec from wrk on $server $name"; }
  ROW="${ROUND}	$name	$server	$rps	${non2xx:-0}	${errs:-0}	$p50	$p99"
}

selected() { echo "$1" | grep -Eq -- "$ROUTES"; }

log "warm-up ($WARMUP per server and route)"
ROUND=0
while IFS=$'\t' read -r name method path auth ident body; do
  selected "$name" || continue
  [ "$method" = GET ] || continue
  run_wrk bare "$BARE_PORT" "$name" "$method" "$path" "$auth" "$ident" "$body" "$WARMUP"
  run_wrk openkyc "$KYC_PORT" "$name" "$method" "$path" "$auth" "$ident" "$body" "$WARMUP"
  [ -z "$BASE_PID" ] || run_wrk openkyc-base "$BASE_PORT" "$name" "$method" "$path" "$auth" "$ident" "$body" "$WARMUP"
  if echo " $INFO_ROUTES " | grep -q " $name "; then
    run_wrk openkyc-info "$INFO_PORT" "$name" "$method" "$path" "$auth" "$ident" "$body" "$WARMUP"
  fi
done <"$TMP/routes.tsv"
# run_kratos duration [record]: every Kratos route once (none without
# KRATOS); with record, each after quiesce and its row kept.
run_kratos() {
  local name path
  while IFS=$'\t' read -r name path; do
    [ -n "$name" ] || continue
    if [ -n "${2:-}" ]; then quiesce; fi
    run_wrk kratos "$KPUB" "$name" GET "$path" none - - "$1"
    if [ -n "${2:-}" ]; then echo "$ROW" | tee -a "$RAW" >&2; fi
  done <<<"${KRATOS_ROUTES:-}"
}
run_kratos "$WARMUP"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring: $ROUNDS rounds x $DURATION, $THREADS thread(s), $CONNECTIONS connections (load average $LOAD_START)"
for ROUND in $(seq 1 "$ROUNDS"); do
  while IFS=$'\t' read -r name method path auth ident body; do
    selected "$name" || continue
    # Alternate which server goes first, so neither always follows the other.
    if [ $((ROUND % 2)) = 1 ]; then order="bare openkyc"; else order="openkyc bare"; fi
    if [ -n "$BASE_PID" ] && [ "$method" = GET ]; then
      if [ $((ROUND % 2)) = 1 ]; then order="$order openkyc-base"; else order="openkyc-base $order"; fi
    fi
    for server in $order; do
      quiesce
      case $server in
        bare) port=$BARE_PORT ;;
        openkyc-base) port=$BASE_PORT ;;
        *) port=$KYC_PORT ;;
      esac
      run_wrk $server "$port" "$name" "$method" "$path" "$auth" "$ident" "$body" "$DURATION"
      echo "$ROW" | tee -a "$RAW" >&2
    done
  done <"$TMP/routes.tsv"
  run_kratos "$DURATION" record
  for name in $INFO_ROUTES; do
    selected "$name" || continue
    IFS=$'\t' read -r _ method path auth ident body < <(grep "^$name	" "$TMP/routes.tsv")
    if [ $((ROUND % 2)) = 1 ]; then order="openkyc-info openkyc-warn"; else order="openkyc-warn openkyc-info"; fi
    for server in $order; do
      quiesce
      if [ $server = openkyc-info ]; then port=$INFO_PORT; else port=$KYC_PORT; fi
      run_wrk $server "$port" "$name" "$method" "$path" "$auth" "$ident" "$body" "$DURATION"
      echo "$ROW" | tee -a "$RAW" >&2
    done
  done
done

SUMMARY="$OUT/http-$STAMP.md"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ERRLINES=$(grep -c '"level":"error"' "$TMP/openkyc.log" || true)
CANCELLED=$(grep '"level":"error"' "$TMP/openkyc.log" | grep -c 'context canceled' || true)
python3 - "$RAW" "$DURATION" "$ROUNDS" "$CONNECTIONS" "$THREADS" "$LOAD_START" "$LOAD_END" "$(nproc)" "$ERRLINES" "$CANCELLED" "$SERVER_FLAGS" "$BASE_FLAGS" >"$SUMMARY" <<'PY'
import csv, statistics, sys
raw, dur, rounds, conns, threads, load0, load1, ncpu, errlines, cancelled, flags, base_flags = sys.argv[1:]
rows = list(csv.DictReader(open(raw), delimiter="\t"))
by = {}
for r in rows:
    by.setdefault((r["route"], r["server"]), {})[int(r["round"])] = float(r["req_per_s"])
bad = [r for r in rows if int(r["non2xx"]) or int(r["errors"])]
def k(x): return f"{x/1000:.1f}k" if x >= 1000 else f"{x:.0f}"
def mmm(xs, f): return f"{f(min(xs))} / {f(statistics.median(xs))} / {f(max(xs))}"
def ratio(x): return f"{x:.2f}x"
labels = {
    "status-new": "status, new user", "status-verified": "status, verified user",
    "grants": "grant history (limit 10)", "pending": "pending request",
    "wizard": "wizard resume (document step, API key)", "wizard-pending": "wizard resume (submitted, user token)",
    "idverify": "identity verification", "answer": "answer submission (POST)",
}
print(f"wrk -t{threads} -c{conns} -d{dur}, {rounds} rounds, alternated; min / median / max")
print(f"({ncpu} CPUs; load average {load0} at the start, {load1} at the end)")
for who, f in (("openkyc", flags), ("base", base_flags)):
    if f:
        print(f"{who} server flags: {f}")
print()
print("| route | bare req/s | openkyc req/s | ratio openkyc/bare |")
print("|---|---|---|---|")
for route in labels:
    b, o = by.get((route, "bare")), by.get((route, "openkyc"))
    if not b or not o:
        continue
    rs = [o[i] / b[i] for i in o if i in b]
    print(f"| {labels[route]} | {mmm(list(b.values()), k)} | {mmm(list(o.values()), k)} | {mmm(rs, ratio)} |")
base = [(route, by[(route, "openkyc-base")], by[(route, "openkyc")], by.get((route, "bare"), {})) for route in labels
        if (route, "openkyc-base") in by and (route, "openkyc") in by]
if base:
    print("\nThis build against BASE (another build, on a copy of the same data), in the same rounds\n")
    print("| route | base req/s | openkyc req/s | ratio openkyc/base | faster in | base/bare |")
    print("|---|---|---|---|---|---|")
    for route, b0, o, bb in base:
        rs = [o[n] / b0[n] for n in o if n in b0]
        rb = [b0[n] / bb[n] for n in b0 if n in bb]
        print(f"| {labels[route]} | {mmm(list(b0.values()), k)} | {mmm(list(o.values()), k)} | {mmm(rs, ratio)} | "
              f"{sum(r > 1 for r in rs)} of {len(rs)} | {mmm(rb, ratio) if rb else '-'} |")
info = [(route, by[(route, "openkyc-info")], by[(route, "openkyc-warn")]) for route in labels
        if (route, "openkyc-info") in by and (route, "openkyc-warn") in by]
if info:
    print("\nAccess log: -log-level info (one JSON line per request, to a file) vs warn\n")
    print("| route | warn req/s | info req/s | ratio info/warn |")
    print("|---|---|---|---|")
    for route, i, w in info:
        rs = [i[n] / w[n] for n in i if n in w]
        print(f"| {labels[route]} | {mmm(list(w.values()), k)} | {mmm(list(i.values()), k)} | {mmm(rs, ratio)} |")
kratos = [("status-new", "kratos-flow-read", "flow read", ""), ("status-verified", "kratos-flow-read", "flow read", ""),
          ("wizard", "kratos-flow-read", "flow read", ">= 1.5x"), ("answer", "kratos-flow-create", "flow create", "> 1x")]
kratos = [r for r in kratos if (r[0], "openkyc") in by and (r[1], "kratos") in by]
if kratos:
    print("\nAgainst Ory Kratos (its verification flow, read by id or created, on SQLite in WAL mode), same rounds\n")
    print("| openkyc route | openkyc req/s | Kratos route | Kratos req/s | ratio openkyc/Kratos | issue's target |")
    print("|---|---|---|---|---|---|")
    for o, kr, label, t in kratos:
        ov, kv = by[(o, "openkyc")], by[(kr, "kratos")]
        rs = [ov[i] / kv[i] for i in ov if i in kv]
        print(f"| {labels[o]} | {mmm(list(ov.values()), k)} | {label} | {mmm(list(kv.values()), k)} | {mmm(rs, ratio)} | {t} |")
if ("answer", "openkyc") in by:
    a = list(by[("answer", "openkyc")].values())
    print(f"\nAnswer submissions, absolute: {mmm(a, k)} req/s (each writes the state, two events and their deliveries, which the demo server's Dispatcher delivers meanwhile, on the same SQLite writer)")
print(f"\nError lines in the warn server's log: {errlines} ({cancelled} of them 'context canceled': requests wrk abandoned when a run ended)")
if bad:
    print("\nWARNING: runs with non-2xx answers or socket errors:")
    for r in bad:
        print(f"  round {r['round']} {r['route']} {r['server']}: non2xx={r['non2xx']} errors={r['errors']}")
PY
cat "$SUMMARY"
log "raw results: $RAW; summary: $SUMMARY"
if grep -q WARNING "$SUMMARY"; then die "some runs had errors (see the summary)"; fi
