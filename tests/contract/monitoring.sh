#!/usr/bin/env bash
# deploy/monitoring/ as Prometheus and Grafana would load it: the alert
# rules pass `promtool check rules` and their unit tests (`promtool test
# rules alerts_test.yml`: each alert fires on what it is about and not on a
# healthy worker); the dashboard is valid JSON, every panel query is valid
# PromQL (checked by promtool as recording rules, with the dashboard's
# variables filled in), and every zz_ metric the rules and the dashboard
# name is a family the worker declares. Run by ctest (monitoring_rules,
# label unit).
#
#   tests/contract/monitoring.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=monitoring-test
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

zz_need promtool
zz_need jq
MON=deploy/monitoring
RULES=$MON/zizhu-alerts.yml
DASH=$MON/zizhu-dashboard.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

promtool check rules "$RULES" || fail=1
(cd tests/contract && promtool test rules alerts_test.yml) || fail=1

if ! jq -e . "$DASH" >/dev/null; then
        echo "FAIL: $DASH is not valid JSON"
        fail=1
else
        echo "ok: $DASH is valid JSON ($(jq '.panels | length' "$DASH") panels)"
        dup=$(jq -r '.panels[].id' "$DASH" | sort | uniq -d)
        [[ -z $dup ]] || { echo "FAIL: panel ids used twice: $dup"; fail=1; }
        if jq -e '[.panels[] | select(.datasource.uid != "${DS_PROMETHEUS}")] | length == 0' "$DASH" >/dev/null; then
                echo "ok: every panel uses the importable data source \${DS_PROMETHEUS}"
        else
                echo "FAIL: a panel names a data source other than \${DS_PROMETHEUS}"
                fail=1
        fi
        # every panel query as a recording rule, for promtool's PromQL parser
        {
                echo "groups:"
                echo "  - name: dashboard"
                echo "    rules:"
                jq -r '.panels[].targets[].expr' "$DASH" |
                        sed -e 's/\$__rate_interval/5m/g' -e 's/\$job/.*/g' -e 's/\$instance/.*/g' |
                        while IFS= read -r e; do
                                printf '      - record: zizhu:dashboard:query\n        expr: %s\n' "$(jq -Rn --arg e "$e" '$e')"
                        done
        } >"$tmp/dashboard-rules.yml"
        if promtool check rules "$tmp/dashboard-rules.yml" >"$tmp/out.txt" 2>&1; then
                echo "ok: every dashboard query parses ($(grep -c 'record:' "$tmp/dashboard-rules.yml"))"
        else
                cat "$tmp/out.txt"
                echo "FAIL: a dashboard query is not valid PromQL"
                fail=1
        fi
fi

# names: what the rules and the dashboard use must be declared by the worker
grep -ho 'zz_metrics_declare(m, "zz_[a-z_]*"' core/src/subsidy/*.c |
        sed 's/.*"\(zz_[a-z_]*\)"/\1/' | sort -u >"$tmp/declared.txt"
[[ -s $tmp/declared.txt ]] || zz_die "no zz_metrics_declare call found in core/src/subsidy"
{ grep -o 'zz_[a-z_]*' "$RULES"; jq -r '.. | .expr? // empty' "$DASH" | grep -o 'zz_[a-z_]*'; } |
        sed 's/_bucket$//' | sort -u >"$tmp/used.txt"
missing=$(comm -23 "$tmp/used.txt" "$tmp/declared.txt")
if [[ -n $missing ]]; then
        echo "FAIL: metrics used by $MON but not declared by the worker: $missing"
        fail=1
else
        echo "ok: the $(wc -l <"$tmp/used.txt") metrics used are declared by the worker"
fi
((fail == 0)) || exit 1
echo "monitoring: every check passed"
