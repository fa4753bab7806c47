#!/usr/bin/env bash
# The whole local stack: PostgreSQL 15 + one-node Kafka 3.9.1 with the project's topics.
#
#   deploy/local/stack.sh up       start postgres and kafka, create the topics (idempotent)
#   deploy/local/stack.sh down     stop both
#   deploy/local/stack.sh status   one line per service (exit 0 if all up, 3 if not)
#   deploy/local/stack.sh env      export lines for the clients: eval "$(deploy/local/stack.sh env)"
#
# Packages are not installed here: run deploy/local/deps.sh first.
# Without Java or Maven (or with ZZ_STACK_MOCK=1), Kafka is replaced by
# librdkafka's mock cluster (mock.sh), with a loud warning: no exactly-once.
# Ports: ZIZHU_PG_PORT (15432), ZIZHU_KAFKA_PORT (19092), ZIZHU_KAFKA_CONTROLLER_PORT (19093).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=stack
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

use_mock() {
        [[ ${ZZ_STACK_MOCK:-0} == 1 ]] || ! command -v java >/dev/null ||
                ! command -v mvn >/dev/null
}

cmd_up() {
        local t0=$SECONDS
        deploy/local/pg.sh up
        if use_mock; then
                deploy/local/mock.sh up
        else
                deploy/local/kafka.sh up
                deploy/local/kafka.sh topics
        fi
        zz_log "stack up in $((SECONDS - t0)) s"
        cmd_status || true
}

cmd_down() {
        local rc=0
        deploy/local/mock.sh down || rc=1
        deploy/local/kafka.sh down || rc=1
        deploy/local/pg.sh down || rc=1
        return $rc
}

cmd_status() {
        local rc=0
        printf '%-8s %-9s %-46s %s\n' SERVICE STATE ADDRESS PID
        deploy/local/pg.sh row || rc=3
        if use_mock; then
                printf '%-8s %s\n' mock "$(deploy/local/mock.sh status)" || rc=3
        else
                deploy/local/kafka.sh row || rc=3
        fi
        return $rc
}

cmd_env() {
        local boot=$ZZ_KAFKA_BOOTSTRAP
        if use_mock && deploy/local/mock.sh bootstrap >/dev/null 2>&1; then
                boot=$(deploy/local/mock.sh bootstrap)
        fi
        echo "export ZIZHU_BOOTSTRAP=$boot"
        echo "export ZIZHU_PG='host=$ZZ_PG_HOST port=$ZZ_PG_PORT dbname=zizhu user=zizhu'"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
*)
        echo "usage: $0 up|down|status|env" >&2
        exit 2
        ;;
esac
