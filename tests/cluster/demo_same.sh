#!/usr/bin/env bash
# demo_same.sh — the demo on the cluster gives the same allocations, byte for
# byte, as the demo on the dev stack (issue 12, "Tests").
#
#   tests/cluster/demo_same.sh
#
# Needs the dev stack up (ZIZHU_BOOTSTRAP, ZIZHU_PG as `./zz stack env` prints
# them) and the cluster up with its topic plan, ACLs and schema
# (`./zz demo --cluster` or the cluster stage of `./zz test` prepares it).
# Runs deploy/demo/run.sh twice:
#   - on the dev stack, with topics of a prefix of its own and a fresh
#     database (so it does not depend on what ran there before);
#   - on the cluster, every program with the credentials of its own role;
# then compares what each printed (the settlement and payer reports, the
# audit verdict) and the allocation messages of each database
# (zizhu.settle_allocation: id, allocation_id and the Avro bytes published
# on the allocation topic). Prints the time of each run. Exit 0 when equal,
# 1 with a diff otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
B=${ZZ_BIN_DIR:-$ROOT/build}
OUT=${ZZ_OUT:-$ROOT/.zz/demo-same}
CLIENTS=$ROOT/.zz/cluster/clients
: "${ZIZHU_BOOTSTRAP:?the dev stack: eval \"\$(./zz stack env)\"}"
: "${ZIZHU_PG:?the dev stack: eval \"\$(./zz stack env)\"}"
[[ -r $CLIENTS/auditor.conf ]] || { echo "demo_same: the cluster is not up (no $CLIENTS/auditor.conf)" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"

# conf_pg FILE: the libpq conninfo of a client settings file (pg = ...)
conf_pg() { sed -n 's/^pg[[:space:]]*=[[:space:]]*//p' "$1" | tail -n 1; }

allocations() { # allocations CONNINFO FILE
        psql "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c \
                "SELECT id, allocation_id, encode(value, 'hex') FROM zizhu.settle_allocation ORDER BY id" >"$2"
}

db=zizhu_demo_same
dev_pg="$ZIZHU_PG dbname=$db"
psql "$ZIZHU_PG" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
prefix="demo-same-$$."
ZIZHU_TOPIC_PREFIX=$prefix "$B/cli/zizhu" topics apply >/dev/null

echo "demo on the dev stack (prefix $prefix, database $db)" >&2
t0=$(date +%s.%N)
ZIZHU_PG=$dev_pg ZIZHU_TOPIC_PREFIX=$prefix ZZ_BIN_DIR=$B \
        bash deploy/demo/run.sh >"$OUT/dev.out" 2>"$OUT/dev.err" ||
        { tail -n 30 "$OUT/dev.err" >&2; echo "demo_same: the demo failed on the dev stack" >&2; exit 1; }
t1=$(date +%s.%N)
allocations "$dev_pg" "$OUT/dev.alloc"

echo "demo on the cluster (each program with its role's credentials)" >&2
(
        unset ZIZHU_BOOTSTRAP ZIZHU_PG ZIZHU_TOPIC_PREFIX
        ZZ_BIN_DIR=$B ZZ_DEMO_CLIENTS=$CLIENTS bash deploy/demo/run.sh >"$OUT/cluster.out" 2>"$OUT/cluster.err"
) || { tail -n 30 "$OUT/cluster.err" >&2; echo "demo_same: the demo failed on the cluster" >&2; exit 1; }
t2=$(date +%s.%N)
allocations "$(conf_pg "$CLIENTS/auditor.conf")" "$OUT/cluster.alloc"

printf 'demo on the dev stack: %.1f s; on the cluster: %.1f s; %d allocation messages\n' \
        "$(awk "BEGIN{print $t1 - $t0}")" "$(awk "BEGIN{print $t2 - $t1}")" "$(wc -l <"$OUT/dev.alloc")"
rc=0
if [[ ! -s $OUT/dev.alloc ]]; then
        echo "demo_same: the dev-stack demo wrote no allocation" >&2
        rc=1
fi
diff -u "$OUT/dev.out" "$OUT/cluster.out" >&2 || { echo "demo_same: the demos printed different reports" >&2; rc=1; }
diff -u "$OUT/dev.alloc" "$OUT/cluster.alloc" >&2 || { echo "demo_same: the allocations differ" >&2; rc=1; }
psql "$ZIZHU_PG" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
[[ $rc == 0 ]] && echo "demo_same: the cluster's allocations are byte-identical to the dev stack's ($OUT)"
exit $rc
