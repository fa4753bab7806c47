#!/usr/bin/env bash
# The subsidy worker's /metrics as a scraper sees it before any input:
# every metric family listed (not an empty body), counters named _total,
# no zz_phase_seconds gauge, and `promtool check metrics` (Prometheus's own
# linter) passing. Run by ctest (test metrics_exposition, label integration)
# against the dev stack's broker and PostgreSQL, in a database and a topic
# prefix of its own.
#
#   tests/contract/metrics.sh BIN_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=metrics-test
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

BIN=${1:?usage: metrics.sh BIN_DIR}
zz_need promtool
zz_need curl
zz_need psql
eval "$(bash deploy/local/stack.sh env)"
tag=zzmetrics_$$_$RANDOM
db=$tag
admin="host=$ZZ_PG_HOST port=$ZZ_PG_PORT dbname=postgres user=zizhu"
tmp=$(mktemp -d)
pid=
cleanup() {
        if [[ -n $pid ]]; then
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        fi
        psql "$admin" -qXc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
        rm -rf "$tmp"
}
trap cleanup EXIT

psql "$admin" -qXc "CREATE DATABASE $db" >/dev/null
port=$((20000 + RANDOM % 20000))
ZIZHU_PG="host=$ZZ_PG_HOST port=$ZZ_PG_PORT dbname=$db user=zizhu" \
        ZIZHU_BOOTSTRAP=$ZIZHU_BOOTSTRAP ZIZHU_TOPIC_PREFIX=$tag. \
        "$BIN/consumers/zizhu-subsidy-worker" --migrate --group "$tag" \
        --metrics-port "$port" >"$tmp/worker.log" 2>&1 &
pid=$!

ok=0
for _ in $(seq 1 100); do
        if curl -sf "http://127.0.0.1:$port/metrics" -o "$tmp/metrics.txt"; then
                ok=1
                break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
done
if ((ok == 0)); then
        cat "$tmp/worker.log" >&2
        zz_die "no /metrics answer on port $port"
fi

fail=0
[[ -s $tmp/metrics.txt ]] || { echo "FAIL: empty /metrics body before the first input"; fail=1; }
for f in zz_events_total:counter zz_dead_letters_total:counter zz_decisions_changed_total:counter \
        zz_batches_total:counter zz_batches_fenced_total:counter zz_batch_seconds:histogram \
        zz_phase_seconds_total:counter zz_consumer_lag:gauge zz_relay_published_total:counter \
        zz_lock_wait_seconds:gauge; do
        if grep -qx "# TYPE ${f%%:*} ${f#*:}" "$tmp/metrics.txt"; then
                echo "ok: ${f%%:*} declared as ${f#*:}"
        else
                echo "FAIL: no '# TYPE ${f%%:*} ${f#*:}' before the first input"
                fail=1
        fi
done
for s in 'zz_events_total{topic="'"$tag"'.payment",outcome="dead_letter"} 0' \
        'zz_dead_letters_total{reason="UNKNOWN_CATEGORY"} 0' 'zz_batches_total 0' \
        'zz_batch_seconds_count 0' 'zz_phase_seconds_total{phase="commit"} 0' \
        'zz_relay_published_total 0'; do
        if grep -qxF "$s" "$tmp/metrics.txt"; then
                echo "ok: $s"
        else
                echo "FAIL: no sample '$s'"
                fail=1
        fi
done
if grep -q '^zz_phase_seconds[{ ]' "$tmp/metrics.txt"; then
        echo "FAIL: the old gauge zz_phase_seconds is still served"
        fail=1
fi
if promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.txt" 2>&1; then
        echo "ok: promtool check metrics ($(grep -c '^# TYPE' "$tmp/metrics.txt") families)"
else
        echo "FAIL: promtool check metrics:"
        cat "$tmp/promtool.txt"
        fail=1
fi
# stop the worker and show its log: a sanitized build's reports fail the
# ctest test (FAIL_REGULAR_EXPRESSION)
kill -TERM "$pid"
wait "$pid" || true
pid=
echo "--- worker log:"
cat "$tmp/worker.log"
((fail == 0)) || { cat "$tmp/metrics.txt"; exit 1; }
echo "metrics: every check passed"
