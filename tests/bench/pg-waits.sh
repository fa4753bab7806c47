#!/usr/bin/env bash
# tests/bench/pg-waits.sh — a poor man's profile of PostgreSQL's side of a
# worker: samples pg_stat_activity of one database every 100 ms for a given
# time and prints how often each (wait event, statement) pair was seen, most
# frequent first. "CPU" means active and not waiting. Needs no superuser and
# no extension (pg_stat_statements is not preloaded on the local stack).
#
#   tests/bench/pg-waits.sh 'host=127.0.0.1 port=15432 user=zizhu dbname=zizhu_bench_x' 30
set -euo pipefail
CONN=${1:?conninfo}
SECS=${2:-30}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
psql -X -qtA "$CONN" -F ' | ' >"$tmp" 2>/dev/null <<SQL &
SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait,
       left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS stmt
FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active'
  AND pid <> pg_backend_pid()
\watch 0.1
SQL
pid=$!
sleep "$SECS"
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
total=$(grep -c . "$tmp" || true)
echo "samples of active backends: $total (every 100 ms for $SECS s)"
grep . "$tmp" | sort | uniq -c | sort -rn | head -20
