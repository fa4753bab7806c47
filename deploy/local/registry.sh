#!/usr/bin/env bash
# A Confluent-compatible schema registry for development and tests: Apicurio
# Registry 3.0.9 (its Confluent API under /apis/ccompat/v7), in memory.
#
#   deploy/local/registry.sh up       fetch if needed, start, wait until it answers
#   deploy/local/registry.sh down     stop (SIGTERM, SIGKILL after 30 s)
#   deploy/local/registry.sh status   what runs where (exit 0 if up, 3 if not)
#   deploy/local/registry.sh env      the schema_registry_url to export
#   deploy/local/registry.sh fetch    only fetch the server into the cache
#   deploy/local/registry.sh venv     the Python venv with Confluent's client
#                                     (confluent-kafka with its Avro serdes)
#
# The server is the "-all" distribution Apicurio publishes on Maven Central
# (io.apicurio:apicurio-registry-app:3.0.9, tar.gz, classifier all: a
# Quarkus runner jar and its lib/), unpacked into .zz/cache/apicurio-3.0.9.
# 3.0.9 because it runs on Debian's Java 17 (3.3.x needs Java 21). Central
# does not serve the parent POM of 3.0.9: maven-dependency-plugin 3.x refuses
# the artifact without it, 2.8's dependency:get (with dest) fetches the file
# alone, which is all that is needed;
# storage is its default in-memory database, so every up starts empty.
# Listens on 127.0.0.1:18081; log in .zz/registry/registry.log. The venv
# (.zz/venv-registry) is what tests/integration/registry_read.py runs in.
#
# Environment: ZIZHU_REGISTRY_PORT (default 18081), ZIZHU_JAVA (java binary),
# ZIZHU_MVN_ARGS (extra mvn arguments, e.g. -Dmaven.repo.local=...).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=registry
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

APICURIO_VERSION=3.0.9
DEP_PLUGIN_VERSION=2.8
CONFLUENT_KAFKA_VERSION=2.16.1
FASTAVRO_VERSION=1.13.1

PORT=${ZIZHU_REGISTRY_PORT:-18081}
URL=http://127.0.0.1:$PORT/apis/ccompat/v7
CACHE=$ZZ_STATE/cache/apicurio-$APICURIO_VERSION
RUNNER=$CACHE/dist/apicurio-registry-app-$APICURIO_VERSION-runner.jar
RHOME=$ZZ_STATE/registry
PIDFILE=$RHOME/registry.pid
LOG=$RHOME/registry.log
VENV=$ZZ_STATE/venv-registry
READY_TIMEOUT=120
STOP_TIMEOUT=30

pick_java() { zz_pick_java; }

fetch() {
        if [[ -f $CACHE/dist/.complete && -f $RUNNER ]]; then
                return 0
        fi
        zz_need mvn tar
        zz_log "fetching Apicurio Registry $APICURIO_VERSION with Maven into ${CACHE#"$ZZ_ROOT"/}"
        local t0=$SECONDS tmp=$CACHE/dl.tmp
        rm -rf "$tmp" "$CACHE/dist"
        mkdir -p "$tmp"
        # shellcheck disable=SC2086
        if ! mvn -q -B -Dstyle.color=never ${ZIZHU_MVN_ARGS:-} \
                "org.apache.maven.plugins:maven-dependency-plugin:$DEP_PLUGIN_VERSION:get" \
                -Dtransitive=false -Ddest="$tmp/apicurio.tar.gz" \
                -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
                >"$CACHE/mvn.log" 2>&1; then
                tail -n 40 "$CACHE/mvn.log" >&2
                rm -rf "$tmp"
                zz_die "maven could not fetch Apicurio Registry (log: ${CACHE#"$ZZ_ROOT"/}/mvn.log)"
        fi
        mkdir -p "$CACHE/dist"
        tar -xzf "$tmp/apicurio.tar.gz" -C "$CACHE/dist"
        rm -rf "$tmp"
        [[ -f $RUNNER ]] || zz_die "no runner jar in the Apicurio distribution"
        date -u +%FT%TZ >"$CACHE/dist/.complete"
        zz_log "fetched $(du -sh "$CACHE/dist" | cut -f1) in $((SECONDS - t0)) s"
}

# The Python venv with Confluent's own client and its Avro deserializer.
cmd_venv() {
        local stamp="confluent-kafka==$CONFLUENT_KAFKA_VERSION fastavro==$FASTAVRO_VERSION"
        if [[ -x $VENV/bin/python && $(cat "$VENV/.complete" 2>/dev/null) == "$stamp" ]]; then
                return 0
        fi
        zz_need python3
        zz_log "making ${VENV#"$ZZ_ROOT"/} ($stamp)"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        # shellcheck disable=SC2086
        "$VENV/bin/pip" install -q "confluent-kafka[avro,schemaregistry]==$CONFLUENT_KAFKA_VERSION" \
                "fastavro==$FASTAVRO_VERSION" >"$ZZ_STATE/venv-registry.log" 2>&1 ||
                {
                        tail -n 20 "$ZZ_STATE/venv-registry.log" >&2
                        zz_die "pip could not install Confluent's client"
                }
        echo "$stamp" >"$VENV/.complete"
}

read_pid() {
        [[ -f $PIDFILE ]] && cat "$PIDFILE" || true
}

registry_pid() {
        local pid
        pid=$(read_pid)
        if zz_pid_alive "$pid" "$RUNNER"; then
                echo "$pid"
                return 0
        fi
        return 1
}

answers() {
        curl -fsS -m 3 "$URL/schemas/types" >/dev/null 2>&1
}

stop_pid() {
        local pid=$1 t0=$SECONDS
        kill -TERM "$pid" 2>/dev/null || return 0
        while zz_pid_alive "$pid"; do
                if ((SECONDS - t0 >= STOP_TIMEOUT)); then
                        zz_warn "pid $pid still alive after $STOP_TIMEOUT s: SIGKILL"
                        kill -KILL "$pid" 2>/dev/null || true
                        sleep 0.5
                        break
                fi
                sleep 0.5
        done
        while zz_pid_alive "$pid"; do sleep 0.2; done
}

wait_ready() {
        local pid=$1 t0=$SECONDS
        until answers; do
                if ! zz_pid_alive "$pid"; then
                        tail -n 40 "$LOG" >&2 || true
                        zz_die "registry exited while starting"
                fi
                if ((SECONDS - t0 >= READY_TIMEOUT)); then
                        tail -n 40 "$LOG" >&2 || true
                        stop_pid "$pid"
                        zz_die "registry did not answer within $READY_TIMEOUT s"
                fi
                sleep 1
        done
        zz_log "up at $URL ($((SECONDS - t0)) s)"
}

cmd_up() {
        zz_need curl ss
        pick_java
        fetch
        zz_private "$RHOME"
        local pid
        if pid=$(registry_pid); then
                zz_log "already running (pid $pid)"
                wait_ready "$pid"
                return 0
        fi
        rm -f "$PIDFILE"
        if zz_port_busy "$PORT"; then
                zz_die "port $PORT is taken by another process"
        fi
        zz_log "starting Apicurio Registry $APICURIO_VERSION (log ${LOG#"$ZZ_ROOT"/})"
        # As kafka.sh: its own session, the pid file holds the java pid, the
        # lock is not inherited.
        # shellcheck disable=SC2016
        setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDFILE" \
                nohup "$JAVA" -Xmx512m -XX:+UseSerialGC \
                -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
                -Dquarkus.log.console.color=false \
                -jar "$RUNNER" >>"$LOG" 2>&1 </dev/null 9>&- &
        local i
        for i in $(seq 50); do
                [[ -s $PIDFILE ]] && break
                sleep 0.1
        done
        pid=$(read_pid)
        [[ -n $pid ]] || zz_die "registry did not start (no pid file)"
        wait_ready "$pid"
}

cmd_down() {
        local pid
        if ! pid=$(registry_pid); then
                rm -f "$PIDFILE"
                zz_log "not running"
                return 0
        fi
        zz_log "stopping registry (pid $pid)"
        stop_pid "$pid"
        rm -f "$PIDFILE"
        zz_log "stopped"
}

cmd_status() {
        local pid state=down
        if pid=$(registry_pid); then
                if answers; then state=up; else state=starting; fi
        else
                pid=-
        fi
        printf '%-8s %-9s %-46s %s\n' registry "$state" "$URL" "$pid"
        echo "  server:  ${CACHE#"$ZZ_ROOT"/} ($([[ -f $CACHE/dist/.complete ]] && echo fetched || echo 'not fetched'))"
        echo "  venv:    ${VENV#"$ZZ_ROOT"/} ($([[ -f $VENV/.complete ]] && echo made || echo 'not made'))"
        [[ $state == up ]] || return 3
}

case ${1:-} in
up)
        zz_lock "$RHOME/.lock"
        cmd_up
        ;;
down)
        zz_lock "$RHOME/.lock"
        cmd_down
        ;;
status) cmd_status ;;
env) echo "export ZIZHU_SCHEMA_REGISTRY_URL=$URL" ;;
fetch)
        zz_lock "$RHOME/.lock"
        fetch
        ;;
venv)
        zz_lock "$RHOME/.lock"
        cmd_venv
        ;;
*)
        echo "usage: $0 up|down|status|env|fetch|venv" >&2
        exit 2
        ;;
esac
