#!/usr/bin/env bash
# The FALLBACK broker: librdkafka's mock cluster served by zizhu-mock-broker,
# for a machine where Java or Maven cannot be had.
#
#   deploy/local/mock.sh up|down|status|bootstrap
#
# WARNING: in librdkafka 2.0.2 the mock cluster does not filter aborted
# transactions, stores no transactional offsets and answers no time lookups:
# exactly-once and time-based replay are NOT guaranteed on it. CI and the
# integration tests use the real broker (kafka.sh).
#
# The mock picks its own ports; `bootstrap` prints them. The binary is
# $ZZ_MOCK_BROKER, else build/tools/zizhu-mock-broker.
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=mock
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

DIR=$ZZ_STATE/mock
PIDFILE=$DIR/pid
BOOT=$DIR/bootstrap
BIN=${ZZ_MOCK_BROKER:-$ZZ_ROOT/build/tools/zizhu-mock-broker}

mock_pid() { cat "$PIDFILE" 2>/dev/null || true; }
running() { zz_pid_alive "$(mock_pid)" zizhu-mock-broker && [[ -s $BOOT ]]; }

cmd_up() {
        if running; then
                zz_log "mock broker already running on $(cat "$BOOT")"
                return 0
        fi
        [[ -x $BIN ]] || zz_die "no $BIN: build first (./zz build)"
        mkdir -p "$DIR"
        rm -f "$BOOT"
        zz_warn "**********************************************************"
        zz_warn "using librdkafka's MOCK cluster instead of Apache Kafka:"
        zz_warn "exactly-once and time-based replay are NOT guaranteed"
        zz_warn "**********************************************************"
        nohup "$BIN" --topics "$ZZ_LOCAL/topics.txt" \
                --prefix "${ZIZHU_TOPIC_PREFIX:-zz.}" \
                --bootstrap-file "$BOOT" >"$DIR/mock.log" 2>&1 &
        echo $! >"$PIDFILE"
        local n=50
        while ((n-- > 0)) && [[ ! -s $BOOT ]]; do sleep 0.1; done
        running || zz_die "mock broker did not start (see $DIR/mock.log)"
        zz_log "mock broker on $(cat "$BOOT")"
}

cmd_down() {
        local pid
        pid=$(mock_pid)
        if zz_pid_alive "$pid" zizhu-mock-broker; then
                kill "$pid"
                zz_wait_gone "$pid" 10 || kill -9 "$pid" 2>/dev/null || true
                zz_log "mock broker stopped"
        fi
        rm -f "$PIDFILE" "$BOOT"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) if running; then echo "mock up $(cat "$BOOT") $(mock_pid)"; else echo "mock down"; exit 3; fi ;;
bootstrap) running && cat "$BOOT" ;;
*)
        echo "usage: $0 up|down|status|bootstrap" >&2
        exit 2
        ;;
esac
