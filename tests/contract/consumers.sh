#!/usr/bin/env bash
# The consumer contract (docs/consumers.md) checked from outside: a small
# pipeline run on the dev stack (the Huilong demo files, one undecodable
# message, the subsidy worker, a period close, the settlement worker) into
# topics and a database of its own, then the Python example (confluent-kafka
# + fastavro) and the Java example (kafka-clients + Apache Avro) read every
# output topic. Both must print the same lines, and those must agree with
# PostgreSQL: one subsidy-state per decision with the same total subsidy,
# one allocation per settle_allocation row with the same fen, the dead
# letter with its reason, every message with its dedup header. Run by ctest
# (consumer_examples, label integration).
#
#   tests/contract/consumers.sh BIN_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=consumers-test
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

BIN=${1:?usage: consumers.sh BIN_DIR}
zz_need psql
zz_need kcat
eval "$(bash deploy/local/stack.sh env)"
PY=$(docs/examples/python/make-venv.sh)
JAVA_CP=$(docs/examples/java/build.sh)

tag=zzcons_$$_$RANDOM
export ZIZHU_TOPIC_PREFIX=$tag.
export ZIZHU_PG="host=$ZZ_PG_HOST port=$ZZ_PG_PORT dbname=$tag user=zizhu"
export ZIZHU_BOOTSTRAP
export ZIZHU_PSEUDONYM_KEY=zizhu-consumer-test-key-not-secret-0123456789
export ZZ_SOURCE_DIR=$ZZ_ROOT
admin="host=$ZZ_PG_HOST port=$ZZ_PG_PORT dbname=postgres user=zizhu"
tmp=$(mktemp -d)
cleanup() {
        psql "$admin" -qXc "DROP DATABASE IF EXISTS $tag" >/dev/null 2>&1 || true
        "$PY" - "$ZIZHU_BOOTSTRAP" "$tag." <<'PYEOF' >/dev/null 2>&1 || true
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
ts = [t for t in a.list_topics(timeout=10).topics if t.startswith(sys.argv[2])]
for f in a.delete_topics(ts, operation_timeout=30).values() if ts else []:
    f.result()
PYEOF
        rm -rf "$tmp"
}
trap cleanup EXIT

psql "$admin" -qXc "CREATE DATABASE $tag" >/dev/null
"$BIN/cli/zizhu" topics apply >"$tmp/topics.txt" || { cat "$tmp/topics.txt"; zz_die "topics apply failed"; }
cp deploy/demo/huilong/*.csv "$tmp/"
F=$BIN/producers/zizhu-feed
"$F" activate -q --policy policies/huilong-2020.yaml --issued-at 2019-09-01T09:00
for f in "$tmp"/identity-*.csv; do
        d=$(basename "$f" .csv)
        "$F" identity -q --dept "${d#identity-}" --reported-at 2019-09-01T09:00 "$f"
done
"$F" enrollment -q --reported-at 2019-09-01T09:00 "$tmp/enrollment.csv"
"$F" payment -q --reported-at 2019-09-01T09:00 "$tmp/payment.csv"
# one message that is not Avro: it must come out on the dead-letter topic
printf 'not avro' | kcat -q -b "$ZIZHU_BOOTSTRAP" -P -t "${tag}.payment" -k garbage-key -p 0
"$BIN/consumers/zizhu-subsidy-worker" -q --migrate --group "$tag" --idle-exit 3000
"$F" close -q --jurisdiction huilong --period 2020 --issued-at 2019-12-31T18:00
"$BIN/consumers/zizhu-settlement-worker" -q --idle-exit 3000 --wait-ms 60000 \
        --group "$tag-settle" --subsidy-group "$tag"

q() { psql "$ZIZHU_PG" -qXAt -c "$1"; }
n_dec=$(q "SELECT count(*) FROM zizhu.decision")
fen_dec=$(q "SELECT coalesce(sum(subsidy_fen), 0) FROM zizhu.decision")
n_alloc=$(q "SELECT count(*) FROM zizhu.settle_allocation")
fen_alloc=$(q "SELECT coalesce(sum(fen), 0) FROM zizhu.settle_allocation")
n_keys=$(q "SELECT count(DISTINCT key) FROM zizhu.settle_allocation")
zz_log "database: $n_dec decisions ($fen_dec fen subsidy), $n_alloc allocations under $n_keys key(s) ($fen_alloc fen)"

"$PY" docs/examples/python/zizhu_read.py --bootstrap "$ZIZHU_BOOTSTRAP" --prefix "$tag." \
        --schemas schemas >"$tmp/python.txt"
java -cp "$JAVA_CP" cn.zizhu.examples.ZizhuRead "$ZIZHU_BOOTSTRAP" "$tag." schemas >"$tmp/java.txt"
echo "--- python (confluent-kafka + fastavro):"
cat "$tmp/python.txt"
echo "--- java (kafka-clients + avro):"
cat "$tmp/java.txt"

fail=0
check() { # check FILE REGEX WHAT
        if grep -qE "$2" "$1"; then
                echo "ok: $(basename "$1" .txt): $3"
        else
                echo "FAIL: $(basename "$1" .txt): $3 (expected /$2/)"
                fail=1
        fi
}
for out in "$tmp/python.txt" "$tmp/java.txt"; do
        check "$out" "^subsidy-state messages=[0-9]+ distinct=$n_dec fen=$fen_dec headers=ok$" \
                "one current subsidy-state per decision, same total subsidy"
        check "$out" "^allocation messages=$n_alloc distinct=$n_alloc fen=$fen_alloc headers=ok$" \
                "one allocation per settled row, same fen"
        check "$out" "^reconciliation messages=[0-9]+ distinct=[0-9]+ fen=-?[0-9]+ headers=ok$" \
                "reconciliation read with its headers"
        check "$out" "^dead-letter messages=1 distinct=1 fen=0 headers=ok reasons=BAD_FRAMING:1$" \
                "the undecodable message dead-lettered as BAD_FRAMING"
done
if ((n_alloc <= n_keys)); then
        echo "FAIL: the run should have several allocations under one key (got $n_alloc under $n_keys)"
        fail=1
else
        echo "ok: $n_alloc allocations share $n_keys key(s): the key is not an upsert key"
fi
if ! cmp -s "$tmp/python.txt" "$tmp/java.txt"; then
        echo "FAIL: the Python and Java examples disagree"
        diff "$tmp/python.txt" "$tmp/java.txt" || true
        fail=1
fi
# the Spark example is a documented configuration: it must at least compile
if "$PY" -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' docs/examples/spark/allocation.py; then
        echo "ok: docs/examples/spark/allocation.py compiles"
else
        echo "FAIL: docs/examples/spark/allocation.py does not compile"
        fail=1
fi
((fail == 0)) || exit 1
echo "consumers: every check passed"
