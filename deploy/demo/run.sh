#!/usr/bin/env bash
# run.sh — the main job on the demo data set: feed the department files of the
# five localities through the pipeline and print the settlement per paying
# department. Called by `./zz demo` (which installs, builds and starts the
# stack first) and by `zizhu demo`.
#
# Environment: ZZ_BIN_DIR (the build folder, default build/), ZIZHU_BOOTSTRAP,
# ZIZHU_PG (default: the local stack). Every timestamp is fixed, so running it
# twice sends the same events again, which change nothing.
#
# ZZ_DEMO_CLIENTS=DIR runs each program with the client settings of its own
# role, DIR/ROLE.conf (as on a province's cluster, `./zz demo --cluster`:
# each department's feed with its own credentials, the workers with theirs,
# the reports, replay and audit as the auditor); the schema is then migrated
# by the admin role first, since the workers' role may not change it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
B=${ZZ_BIN_DIR:-$ROOT/build}
export ZZ_SOURCE_DIR=$ROOT
# The demo's pseudonym key is public; a deployment sets its own secret.
export ZIZHU_PSEUDONYM_KEY=${ZIZHU_PSEUDONYM_KEY:-zizhu-demo-key-not-secret-0123456789}
ZIZHU=$B/cli/zizhu
FEED=$B/producers/zizhu-feed
WORKER=$B/consumers/zizhu-subsidy-worker
SETTLE=$B/consumers/zizhu-settlement-worker

step() { printf '\n--- %s\n' "$*" >&2; }
# as ROLE CMD...: CMD with ROLE's client settings when ZZ_DEMO_CLIENTS is set
as() {
        local role=$1
        shift
        if [ -n "${ZZ_DEMO_CLIENTS:-}" ]; then
                ZIZHU_CONFIG=$ZZ_DEMO_CLIENTS/$role.conf "$@"
        else
                "$@"
        fi
}
if [ -n "${ZZ_DEMO_CLIENTS:-}" ]; then
        unset ZIZHU_BOOTSTRAP ZIZHU_PG
fi
have() { [ -x "$1" ] && "$1" --help >/dev/null 2>&1; }

# jurisdiction  policy          activation time     closes (period@issued-at)
PLAN=(
        "huilong    huilong-2020    2019-09-01T09:00 2020@2019-12-31T18:00"
        "tongnan    tongnan-2021    2020-08-20T09:00 2021@2021-07-05T18:00"
        "panzhihua  panzhihua-2022  2021-08-20T09:00 2022@2022-07-05T18:00"
        "yubei      yubei-2017      2016-08-20T09:00 2017january@2017-01-10T18:00 2017july@2017-07-10T18:00"
        "shantou    shantou-2021    2020-08-20T09:00 2021H1@2021-06-15T18:00 2021H2@2021-12-15T18:00"
)

step "checking the five policy files"
"$ZIZHU" policy check policies/*.yaml

step "feeding the demo department files (deploy/demo/) into Kafka"
for line in "${PLAN[@]}"; do
        read -r juris policy activated _ <<<"$line"
        as operator "$FEED" activate -q --policy "policies/$policy.yaml" --issued-at "$activated"
        for f in deploy/demo/"$juris"/identity-*.csv; do
                dept=$(basename "$f" .csv)
                dept=${dept#identity-}
                as "feed-$(printf '%s' "$dept" | tr 'A-Z' 'a-z')" \
                        "$FEED" identity -q --dept "$dept" --reported-at "$activated" "$f"
        done
        as feed-enrollment "$FEED" enrollment -q --reported-at "$activated" "deploy/demo/$juris/enrollment.csv"
        as feed-payment "$FEED" payment -q --reported-at "$activated" "deploy/demo/$juris/payment.csv"
        printf '  %-10s fed (%s)\n' "$juris" "$policy" >&2
done

if ! have "$WORKER"; then
        echo "zizhu-subsidy-worker is not built yet (issue 5): the events wait in Kafka." >&2
        exit 0
fi
step "zizhu-subsidy-worker: deciding every person, exactly once (exits when idle)"
if [ -n "${ZZ_DEMO_CLIENTS:-}" ]; then
        as admin "$ZIZHU" migrate >/dev/null
        as subsidy "$WORKER" -q --idle-exit 3000
else
        "$WORKER" -q --migrate --idle-exit 3000
fi

step "closing the settlement periods"
for line in "${PLAN[@]}"; do
        read -r juris _ _ closes <<<"$line"
        for c in $closes; do
                as operator "$FEED" close -q --jurisdiction "$juris" --period "${c%@*}" --issued-at "${c#*@}"
        done
done

if ! have "$SETTLE"; then
        echo "zizhu-settlement-worker is not built yet (issue 6): decisions are in PostgreSQL." >&2
        exit 0
fi
step "zizhu-settlement-worker: allocations per payer, fund and region (exits when idle)"
as settlement "$SETTLE" -q --idle-exit 3000

step "settlement per payer, fund, region and kind; then the transfer per paying department"
as auditor "$ZIZHU" report settlement
as auditor "$ZIZHU" report payers

step "audit: replay the input topics into a fresh database and compare byte for byte"
as auditor "$ZIZHU" replay -q --from-beginning --database zizhu_replay --drop
as auditor "$ZIZHU" audit verify --replay-db zizhu_replay
