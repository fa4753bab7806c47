#!/usr/bin/env bash
# tests/bench/run.sh — every benchmark of issue 7 in one run, on one data
# set, each beside the ceilings and the textbook baseline measured in the
# same run. Prints one table; writes bench.csv and bench.html (inline SVG
# chart) under results/bench-<ts>/ (ignored by git).
#
#   tests/bench/run.sh                       # default run (~15 min here)
#   tests/bench/run.sh --quick               # CI: small data, < 2 min;
#                                            # checks every row has a number
#   tests/bench/run.sh --persons 200000 --settle-persons 1000000 --keep
#
# Needs the local stack (bash deploy/local/stack.sh up). Each run uses its
# own topic prefix (bench<ts>.) and its own databases (zizhu_bench_<ts>_*),
# created from one migrated template and dropped at the end unless --keep.
# Progress goes to stderr; the table to stdout.
#
# Exit status: 0 done; 1 a step failed, or (--quick) a row that should have
# a number has none; 2 usage error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$ROOT/build-bench
PERSONS=300000
SETTLE_PERSONS=1000000
NAIVE_EVENTS=20000
ENGINE_SECONDS=3
JURISDICTION=huilong
SEED=7
BATCH_MAX=
OUT=
QUICK=0
KEEP=0
DO_BUILD=1

usage() {
        cat <<EOF
usage: tests/bench/run.sh [--quick] [--persons N] [--settle-persons N]
                          [--out DIR] [options]

Generates a data set with zizhu-loadgen into its own topics and databases,
measures the policy engine, the Kafka and PostgreSQL ceilings, the naive
one-transaction-per-event consumer, zizhu with one and two workers, replay,
settlement and peak memory, and prints one table (also CSV and HTML).

options:
  --quick              small data (CI): checks that every row has a number
  --persons N          persons in the data set [$PERSONS]
  --settle-persons N   persons of the settlement data set [$SETTLE_PERSONS;
                       --quick: = --persons]; when equal to --persons, the
                       two-worker run's database is closed, else the facts
                       of that many generated persons are written straight
                       into a database of its own with COPY first
                       (zz-bench-settle-load, not timed; 10 000 000 take
                       about 8 GB of disk)
  --naive-events N     events the naive consumer handles [$NAIVE_EVENTS]
  --jurisdiction J     loadgen jurisdiction (huilong, ..., province) [$JURISDICTION]
  --seed S             loadgen seed [$SEED]
  --batch-max N        passed to zizhu-subsidy-worker (default: its own)
  --out DIR            results directory [results/bench-<ts>]
  --build-dir DIR      Release build to use or create [build-bench]
  --no-build           use the build directory as it is
  --keep               keep the databases and topics
  -h, --help           this text
EOF
}

while (($#)); do
        case $1 in
        --quick) QUICK=1 ;;
        --persons) PERSONS=${2:?}; shift ;;
        --settle-persons) SETTLE_PERSONS=${2:?}; shift ;;
        --naive-events) NAIVE_EVENTS=${2:?}; shift ;;
        --jurisdiction) JURISDICTION=${2:?}; shift ;;
        --seed) SEED=${2:?}; shift ;;
        --batch-max) BATCH_MAX=${2:?}; shift ;;
        --out) OUT=${2:?}; shift ;;
        --build-dir) BUILD=${2:?}; shift ;;
        --no-build) DO_BUILD=0 ;;
        --keep) KEEP=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
        esac
        shift
done
if ((QUICK)); then
        # Sizes for CI unless given explicitly after --quick.
        [[ $PERSONS == 300000 ]] && PERSONS=5000
        [[ $SETTLE_PERSONS == 1000000 ]] && SETTLE_PERSONS=
        [[ $NAIVE_EVENTS == 20000 ]] && NAIVE_EVENTS=500
        ENGINE_SECONDS=0.3
fi
SETTLE_PERSONS=${SETTLE_PERSONS:-$PERSONS}
for n in "$PERSONS" "$SETTLE_PERSONS" "$NAIVE_EVENTS"; do
        [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: not a positive number: $n" >&2; exit 2; }
done

TS=$(date +%Y%m%d%H%M%S)
PREFIX="bench$TS."
DB="zizhu_bench_$TS"
OUT=${OUT:-$ROOT/results/bench-$TS}
mkdir -p "$OUT"
LOG=$OUT/log
mkdir -p "$LOG"
T_RUN=$SECONDS

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
# fsub A B: A - B with 3 decimals
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "" }'; }

# ---------------------------------------------------------------- stack --
cd "$ROOT"
if ! bash deploy/local/stack.sh status >/dev/null 2>&1; then
        die "the local stack is not up (hint: bash deploy/local/stack.sh up)"
fi
eval "$(bash deploy/local/stack.sh env)"
export ZIZHU_BOOTSTRAP
# The server's conninfo without dbname; conn NAME gives one for database NAME.
PGBASE=$(sed -E 's/(^| )dbname=[^ ]*//' <<<"$ZIZHU_PG")
conn() { echo "$PGBASE dbname=$1"; }
# CREATE and DROP DATABASE run from the configured database.
ADMIN=$ZIZHU_PG
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
scalar() { psql -X -qtA "$(conn "$1")" -c "$2" 2>/dev/null || echo ""; }

# ---------------------------------------------------------------- build --
if ((DO_BUILD)); then
        say "building (Release) in ${BUILD#"$ROOT"/}"
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
                -DBUILD_TESTING=OFF >"$LOG/cmake.log" 2>&1 ||
                die "cmake configure failed (see $LOG/cmake.log)"
        cmake --build "$BUILD" -j"$(nproc)" >>"$LOG/cmake.log" 2>&1 ||
                die "build failed (see $LOG/cmake.log)"
fi
BB=$BUILD/tests/bench
LOADGEN=$BUILD/producers/zizhu-loadgen
FEED=$BUILD/producers/zizhu-feed
WORKER=$BUILD/consumers/zizhu-subsidy-worker
SETTLER=$BUILD/consumers/zizhu-settlement-worker
ZIZHU=$BUILD/cli/zizhu
for b in "$BB/zz-bench-engine" "$BB/zz-bench-topics" "$LOADGEN" "$ZIZHU"; do
        [[ -x $b ]] || die "$b is not built"
done

# -------------------------------------------------------------- cleanup --
DBS=()
PREFIXES=()
CHILDREN=()
cleanup() {
        local p
        for p in "${CHILDREN[@]}"; do
                # the program under /usr/bin/time, then time itself
                pkill -TERM -P "$p" 2>/dev/null || true
                kill "$p" 2>/dev/null || true
        done
        if ((KEEP)); then
                say "kept databases ${DBS[*]:-none} and topic prefixes ${PREFIXES[*]:-none}"
                return
        fi
        for d in "${DBS[@]}"; do
                psql -X -q "$ADMIN" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
        done
        for p in "${PREFIXES[@]}"; do
                "$BB/zz-bench-topics" delete --prefix "$p" >/dev/null 2>&1 || true
        done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_db() { # new_db NAME: a fresh copy of the migrated template
        psql_q "$ADMIN" -c "CREATE DATABASE $1 TEMPLATE ${DB}_tpl" >/dev/null
        DBS+=("$1")
}

# Results: "name value" lines gathered in $OUT/values.
VALUES=$OUT/values
: >"$VALUES"
put() { echo "$1 $2" >>"$VALUES"; }
get() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$VALUES"; }
keep_values() { grep -E '^[a-z_0-9]+ [-0-9.]+$' "$1" >>"$VALUES" || true; }

# ----------------------------------------------------------------- data --
make_data() { # make_data PREFIX PERSONS SEED
        "$BB/zz-bench-topics" create --prefix "$1" || die "could not create topics $1*"
        PREFIXES+=("$1")
        say "data: zizhu-loadgen --persons $2 --jurisdiction $JURISDICTION into $1*"
        ZIZHU_TOPIC_PREFIX=$1 "$LOADGEN" --persons "$2" --seed "$3" \
                --jurisdiction "$JURISDICTION" --no-expected -q \
                2>"$LOG/loadgen-$1log" || die "zizhu-loadgen failed (see $LOG/loadgen-$1log)"
}

say "run $TS: $PERSONS persons ($JURISDICTION, seed $SEED), results in ${OUT#"$ROOT"/}"
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
put load_start "$(cut -d' ' -f1 /proc/loadavg)"
make_data "$PREFIX" "$PERSONS" "$SEED"
# The same data again under two more prefixes (loadgen is deterministic):
# each zizhu run publishes into output topics of its own. A relay resumes
# after the highest outbox id already on its output topics, so a second
# run on the first run's topics would publish nothing and look cheaper.
PREFIX_W2="bench${TS}w2."
PREFIX_RP="bench${TS}rp."
make_data "$PREFIX_W2" "$PERSONS" "$SEED"
make_data "$PREFIX_RP" "$PERSONS" "$SEED"
say "database template ${DB}_tpl: migrations"
psql_q "$ADMIN" -c "CREATE DATABASE ${DB}_tpl" >/dev/null
DBS+=("${DB}_tpl")
ZIZHU_PG=$(conn "${DB}_tpl") "$ZIZHU" migrate >"$LOG/migrate.log" 2>&1 ||
        die "migrations failed (see $LOG/migrate.log)"

# --------------------------------------------------------------- engine --
say "policy engine: decisions/s in process over $PERSONS persons"
"$BB/zz-bench-engine" --persons "$PERSONS" --seed "$SEED" \
        --jurisdiction "$JURISDICTION" --min-seconds "$ENGINE_SECONDS" \
        >"$OUT/engine.txt" || die "engine benchmark failed"
keep_values "$OUT/engine.txt"

# --------------------------------------------------------- kafka ceiling --
say "Kafka ceiling: a consumer that does nothing, same topics"
"$BB/zz-bench-kafka-ceiling" --prefix "$PREFIX" >"$OUT/kafka.txt" ||
        die "Kafka ceiling failed"
keep_values "$OUT/kafka.txt"
TOTAL=$(get kafka_messages)
[[ -n $TOTAL && $TOTAL -gt 0 ]] || die "no events in the data set"
put events "$TOTAL"
say "data set: $TOTAL events"

# ------------------------------------------------------------ pg ceiling --
say "PostgreSQL ceiling: COPY of the same fact rows into the worker's tables"
new_db "${DB}_copy"
ZIZHU_PG=$(conn "${DB}_copy") "$BB/zz-bench-pg-copy" --persons "$PERSONS" \
        --seed "$SEED" --jurisdiction "$JURISDICTION" --prefix "$PREFIX" \
        >"$OUT/pg.txt" || die "PostgreSQL ceiling failed"
keep_values "$OUT/pg.txt"

# ---------------------------------------------------------------- naive --
say "naive baseline: one transaction per event, $NAIVE_EVENTS events"
new_db "${DB}_naive"
ZIZHU_PG=$(conn "${DB}_naive") "$BB/zz-bench-naive" --prefix "$PREFIX" \
        --max-events "$NAIVE_EVENTS" >"$OUT/naive.txt" || die "naive baseline failed"
keep_values "$OUT/naive.txt"

# ----------------------------------------------------------------- zizhu --
# wait_caught_up DB GROUP TOTAL LABEL PIDS...: waits until the positions
# stored in DB for GROUP on the topics of $POLL_PREFIX add up to TOTAL
# events (every input partition read to its end and committed with its
# facts, decisions and outbox rows); prints the moment. Fails if every
# process has exited first.
POLL_PREFIX=$PREFIX
wait_caught_up() {
        local db=$1 group=$2 total=$3 label=$4 done=0 t0 last alive p
        shift 4
        t0=$(now)
        last=$SECONDS
        while :; do
                done=$(scalar "$db" "SELECT coalesce(sum(next_offset), 0) FROM zizhu.consumer_position WHERE group_id = '$group' AND topic LIKE '$POLL_PREFIX%' AND next_offset > 0")
                done=${done:-0}
                if ((done >= total)); then
                        now
                        return 0
                fi
                alive=0
                for p in "$@"; do
                        kill -0 "$p" 2>/dev/null && alive=1
                done
                ((alive)) || { say "$label: exited at $done of $total events"; return 1; }
                if ((SECONDS - last >= 5)); then
                        say "$label: $done / $total events, $(fdiv "$done" "$(fsub "$(now)" "$t0")")/s"
                        last=$SECONDS
                fi
                # Each poll is a new connection (a backend fork): not too often.
                sleep 0.25
        done
}

# stop_after PID SECONDS LABEL: lets a process that has done its work exit
# by itself for SECONDS, then stops it (SIGTERM, and again: a second signal
# exits at once). Returns 1 when it had to be stopped.
stop_after() {
        local pid=$1 secs=$2 label=$3 i
        for ((i = 0; i < secs * 4; i++)); do
                kill -0 "$pid" 2>/dev/null || return 0
                sleep 0.25
        done
        say "$label: still running ${secs} s after catching up: stopping it"
        kill -TERM "$pid" 2>/dev/null || true
        sleep 2
        kill -TERM "$pid" 2>/dev/null || true
        return 1
}

IDLE_MS=2000
# A consumer group of the run's own: group membership is per broker, not
# per topic, so sharing "zizhu-subsidy" with other workers on the same
# broker (tests, other runs) would rebalance this run's workers.
GROUP="zizhu-bench-$TS"
# Range assignment: a person's partitions with one instance (see
# consumers/zizhu-subsidy-worker/README.md); the group is the run's own.
worker_args=(--idle-exit "$IDLE_MS" -q --group "$GROUP" -X partition.assignment.strategy=range)
[[ -n $BATCH_MAX ]] && worker_args+=(--batch-max "$BATCH_MAX")

# run_workers N DB KEY PREFIX: N instances of zizhu-subsidy-worker, one
# group, over the topics of PREFIX into DB; values KEY_events_per_s, KEY_seconds,
# KEY_rss_kb (largest instance) and KEY_rss_kb_<i>.
run_workers() {
        local n=$1 db=$2 key=$3 prefix=$4 i pids=() t0 t1 rc=0 rss max=0
        say "zizhu, $n worker(s): zizhu-subsidy-worker ${worker_args[*]} on $prefix* into $db"
        POLL_PREFIX=$prefix
        t0=$(now)
        for ((i = 1; i <= n; i++)); do
                ZIZHU_TOPIC_PREFIX=$prefix ZIZHU_PG=$(conn "$db") \
                        /usr/bin/time -f '%M' -o "$LOG/$key-$i.rss" \
                        "$WORKER" "${worker_args[@]}" >"$LOG/$key-$i.log" 2>&1 &
                pids+=($!)
                CHILDREN+=($!)
        done
        if t1=$(wait_caught_up "$db" "$GROUP" "$TOTAL" "zizhu, $n worker(s)" "${pids[@]}"); then
                put "${key}_seconds" "$(fsub "$t1" "$t0")"
                put "${key}_events_per_s" "$(fdiv "$TOTAL" "$(fsub "$t1" "$t0")")"
        else
                rc=1
        fi
        for i in "${!pids[@]}"; do
                wait "${pids[$i]}" || { say "worker $((i + 1)) exited with $? (see $LOG/$key-$((i + 1)).log)"; rc=1; }
        done
        put "${key}_wall_seconds" "$(fsub "$(now)" "$t0")"
        for ((i = 1; i <= n; i++)); do
                rss=$(tail -n1 "$LOG/$key-$i.rss" 2>/dev/null)
                [[ $rss =~ ^[0-9]+$ ]] || continue
                put "${key}_rss_kb_$i" "$rss"
                ((rss > max)) && max=$rss
        done
        ((max > 0)) && put "${key}_rss_kb" "$max"
        put "${key}_decisions" "$(scalar "$db" "SELECT count(*) FROM zizhu.decision")"
        return $rc
}

if [[ -x $WORKER ]]; then
        new_db "${DB}_w1"
        run_workers 1 "${DB}_w1" w1 "$PREFIX" || say "zizhu, 1 worker: failed"
        new_db "${DB}_w2"
        run_workers 2 "${DB}_w2" w2 "$PREFIX_W2" || say "zizhu, 2 workers: failed"
        put worker_built 1
else
        say "zizhu-subsidy-worker is not built: its rows say so"
fi

# ---------------------------------------------------------------- replay --
if "$ZIZHU" replay --help >/dev/null 2>&1; then
        put replay_built 1
        say "replay: zizhu replay --from-beginning into ${DB}_replay"
        DBS+=("${DB}_replay")
        t0=$(now)
        POLL_PREFIX=$PREFIX_RP
        ZIZHU_TOPIC_PREFIX=$PREFIX_RP ZIZHU_PSEUDONYM_KEY=${ZIZHU_PSEUDONYM_KEY:-bench-key-0123456789abcdef0123456789} \
                /usr/bin/time -f '%M' -o "$LOG/replay.rss" \
                "$ZIZHU" replay --from-beginning --database "${DB}_replay" --drop -q \
                >"$LOG/replay.log" 2>&1 &
        rp=$!
        CHILDREN+=("$rp")
        if t1=$(wait_caught_up "${DB}_replay" zizhu-replay "$TOTAL" replay "$rp"); then
                put replay_seconds "$(fsub "$t1" "$t0")"
                put replay_events_per_s "$(fdiv "$TOTAL" "$(fsub "$t1" "$t0")")"
                stop_after "$rp" 30 replay || put replay_stopped 1
        fi
        wait "$rp" || say "replay exited with $? (see $LOG/replay.log)"
        put replay_wall_seconds "$(fsub "$(now)" "$t0")"
        rss=$(tail -n1 "$LOG/replay.rss" 2>/dev/null || true)
        [[ $rss =~ ^[0-9]+$ ]] && put replay_rss_kb "$rss"
else
        say "replay: 'zizhu replay' is not built"
fi

# ------------------------------------------------------------ settlement --
# The close commands: one per policy of the jurisdiction (province: all).
periods() {
        local f name
        for f in "$ROOT"/policies/*.yaml; do
                name=$(basename "$f" .yaml)
                if [[ $JURISDICTION == province || ${name%-*} == "$JURISDICTION" ]]; then
                        echo "${name%-*} ${name##*-}"
                fi
        done
}
# The closes poll the database often: the real psql binary, not Debian's
# wrapper script (a Perl start per call, a fifth of a core at 4 Hz).
PSQL_BIN=psql
for b in /usr/lib/postgresql/*/bin/psql; do
        [[ -x $b ]] && PSQL_BIN=$b
done
fast_scalar() { "$PSQL_BIN" -X -qtA "$(conn "$1")" -c "$2" 2>/dev/null || echo ""; }
if [[ -x $SETTLER && -x $FEED && ( -x $WORKER || $SETTLE_PERSONS != "$PERSONS" ) ]]; then
        put settle_built 1
        SP=$PREFIX_W2
        SDB=${DB}_w2
        close_args=()
        settler_args=()
        if [[ $SETTLE_PERSONS != "$PERSONS" ]]; then
                # A data set of its own, straight into the fact tables: the
                # facts the subsidy worker would store for the same loadgen
                # data (zz-bench-settle-load), with the worker's positions
                # at the end of each input and the close's boundary there.
                # Its topics carry only the close and the allocations, which
                # grow with the persons (about 0.5 MB per million in the
                # largest): the allocation topic and the relay take
                # messages up to 50 MB (librdkafka wants fetch.max.bytes,
                # 50 MiB by default, no smaller than message.max.bytes).
                [[ -x $BB/zz-bench-settle-load ]] || die "$BB/zz-bench-settle-load is not built"
                SP="bench${TS}s."
                SDB=${DB}_settle
                sed -E 's/^(allocation[[:space:]]+[0-9]+[[:space:]]+).*/\1max.message.bytes=52428800/' \
                        "$ROOT/deploy/local/topics.txt" >"$OUT/topics-settle.txt"
                "$BB/zz-bench-topics" create --prefix "$SP" --file "$OUT/topics-settle.txt" ||
                        die "could not create topics $SP*"
                PREFIXES+=("$SP")
                new_db "$SDB"
                say "settlement data: the facts of $SETTLE_PERSONS persons with COPY into $SDB (zz-bench-settle-load, not timed)"
                ZIZHU_PG=$(conn "$SDB") "$BB/zz-bench-settle-load" --persons "$SETTLE_PERSONS" \
                        --seed "$SEED" --jurisdiction "$JURISDICTION" --prefix "$SP" \
                        --group "$GROUP" >"$OUT/settle-load.txt" ||
                        die "loading the settlement data failed"
                keep_values "$OUT/settle-load.txt"
                positions=$(awk '$1 == "positions" { print $2 }' "$OUT/settle-load.txt")
                [[ -n $positions ]] || die "zz-bench-settle-load printed no positions"
                close_args=(--positions "$positions")
                settler_args=(-X message.max.bytes=50000000)
                put settle_loaded 1
        fi
        put settle_persons "$SETTLE_PERSONS"
        n_close=0
        while read -r jur year; do
                ZIZHU_TOPIC_PREFIX=$SP "$FEED" close --jurisdiction "$jur" --period "$year" \
                        "${close_args[@]}" -X pg="$(conn "$SDB")" -q >>"$LOG/settle-close.log" 2>&1 ||
                        say "could not send the close of $jur $year"
                n_close=$((n_close + 1))
        done < <(periods)
        say "settlement: closing $n_close period(s) over $SETTLE_PERSONS persons"
        t0=$(now)
        ZIZHU_TOPIC_PREFIX=$SP ZIZHU_PG=$(conn "$SDB") ZIZHU_PSEUDONYM_KEY=${ZIZHU_PSEUDONYM_KEY:-bench-key-0123456789abcdef0123456789} \
                /usr/bin/time -f '%M' -o "$LOG/settle.rss" \
                "$SETTLER" --idle-exit "$IDLE_MS" -q --group "$GROUP-settlement" \
                --subsidy-group "$GROUP" "${settler_args[@]}" >"$LOG/settle.log" 2>&1 &
        sp=$!
        CHILDREN+=("$sp")
        last=$SECONDS
        while :; do
                c=$(fast_scalar "$SDB" "SELECT count(*) FROM zizhu.settle_command")
                if [[ ${c:-0} -ge $n_close ]]; then
                        t1=$(now)
                        put settle_seconds "$(fsub "$t1" "$t0")"
                        break
                fi
                kill -0 "$sp" 2>/dev/null || { say "settlement worker exited early (see $LOG/settle.log)"; break; }
                if ((SECONDS - last >= 5)); then
                        say "settlement: $(fsub "$(now)" "$t0") s"
                        last=$SECONDS
                fi
                sleep 0.25
        done
        wait "$sp" || say "settlement worker exited with $? (see $LOG/settle.log)"
        put settle_closed "$(scalar "$SDB" "SELECT count(*) FROM zizhu.settle_command WHERE status = 'CLOSED'")"
        put settle_lines "$(scalar "$SDB" "SELECT coalesce(sum(lines), 0) FROM zizhu.settle_period")"
        rss=$(tail -n1 "$LOG/settle.rss" 2>/dev/null || true)
        [[ $rss =~ ^[0-9]+$ ]] && put settle_rss_kb "$rss"

        # What-if over the same facts (issue 15 item 4): the jurisdiction's
        # policy against a copy whose tier amounts are 30 yuan higher, read
        # only, a chunk of persons at a time.
        DIFF_POL=$(ls "$ROOT"/policies/"$JURISDICTION"-*.yaml 2>/dev/null | head -n1 || true)
        [[ -n $DIFF_POL ]] || DIFF_POL=$ROOT/policies/yubei-2017.yaml
        awk '/contribution_fen:/ { sub(/[0-9]+/, $2 + 3000) } { print }' "$DIFF_POL" >"$OUT/policy-amended.yaml"
        say "policy diff: $(basename "$DIFF_POL") against higher tiers over $SETTLE_PERSONS persons"
        t0=$(now)
        if ZIZHU_PG=$(conn "$SDB") /usr/bin/time -f '%M' -o "$LOG/diff.rss" \
                "$BUILD/cli/zizhu" policy diff --from "$DIFF_POL" --to "$OUT/policy-amended.yaml" \
                --out "$OUT/policy-diff.txt" 2>"$LOG/diff.log"; then
                t1=$(now)
                put diff_seconds "$(fsub "$t1" "$t0")"
                put diff_persons "$(awk '/persons read/ { n = $4 } END { print n }' "$LOG/diff.log")"
                put diff_changed "$(awk -F'[:;] ' '/amount changed/ { print $4 }' "$OUT/policy-diff.txt")"
                rss=$(tail -n1 "$LOG/diff.rss" 2>/dev/null || true)
                [[ $rss =~ ^[0-9]+$ ]] && put diff_rss_kb "$rss"
        else
                say "policy diff failed (see $LOG/diff.log)"
        fi
else
        say "settlement: zizhu-settlement-worker is not built"
fi
put load_end "$(cut -d' ' -f1 /proc/loadavg)"
put run_seconds "$((SECONDS - T_RUN))"

# ---------------------------------------------------------------- report --
"$ROOT/tests/bench/report.sh" "$VALUES" "$OUT" "$PERSONS" "$JURISDICTION" "$QUICK"
