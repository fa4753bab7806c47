#!/usr/bin/env bash
# PostgreSQL 15 (Debian's /usr/lib/postgresql/15/bin) for development.
#
#   deploy/local/pg.sh up       initdb once, start (pg_ctl -w), create role and database zizhu
#   deploy/local/pg.sh down     stop (fast, then immediate); leaves no process behind
#   deploy/local/pg.sh status   what runs where (exit 0 if up, 3 if not)
#
# Listens on 127.0.0.1:15432 and on a unix socket in .zz/pg/run. Data in
# .zz/pg/data. When this checkout's path is not traversable by the postgres
# system user, data, socket and log go to /var/tmp/zizhu-<hash>/pg instead;
# when the socket path would be too long, the socket goes to /tmp/zizhu-pg-<hash>.
#
# Connect as: psql 'host=127.0.0.1 port=15432 dbname=zizhu user=zizhu'
#
# Authentication is "trust" for loopback TCP and the local socket: this is a
# development stack bound to 127.0.0.1 only, never a deployment template.
# Its state is private to its user (umask 077; data, log and socket 0700).
#
# Environment: ZIZHU_PG_BIN (server binaries, default /usr/lib/postgresql/15/bin),
# ZIZHU_PG_PORT (default 15432).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=pg
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

PGBIN=${ZIZHU_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_OS_USER=postgres
DB=zizhu
ROLE=zizhu

# Run a command as the user that owns the cluster. initdb and postgres refuse
# to run as root, so as root that is the postgres system user.
as_pg() {
        if ((EUID == 0)); then
                (cd / && runuser -u "$PG_OS_USER" -- "$@")
        else
                (cd / && "$@")
        fi
}

# private_base DIR: DIR (the cluster's data, log and socket) readable by the
# cluster's owner only; its parent only passable.
private_base() {
        if ((EUID == 0)); then
                chmod 711 "$(dirname "$1")"
                chown "$PG_OS_USER:$PG_OS_USER" "$1"
        else
                chmod 700 "$(dirname "$1")"
        fi
        chmod 700 "$1"
}

resolve_paths() {
        [[ -x $PGBIN/pg_ctl ]] || zz_die "$PGBIN/pg_ctl not found: run deploy/local/deps.sh first"
        if ((EUID == 0)); then
                id "$PG_OS_USER" >/dev/null 2>&1 || zz_die "no $PG_OS_USER system user: run deploy/local/deps.sh first"
        fi
        PGBASE=$ZZ_STATE/pg
        mkdir -p "$PGBASE"
        # Private to the cluster's owner: as root, that is the postgres user,
        # which may pass through .zz (0711) but not list it.
        private_base "$PGBASE"
        FALLBACK=
        if ! as_pg test -x "$PGBASE" 2>/dev/null; then
                PGBASE=/var/tmp/zizhu-$ZZ_HASH/pg
                FALLBACK="$ZZ_STATE/pg is not reachable by the $PG_OS_USER user: using $PGBASE"
                mkdir -p "$PGBASE"
                chmod 711 "$(dirname "$PGBASE")"
                private_base "$PGBASE"
                echo "$PGBASE" >"$ZZ_STATE/pg/FALLBACK_LOCATION"
        fi
        PGDATA=$PGBASE/data
        PGLOGDIR=$PGBASE/log
        PGLOG=$PGLOGDIR/postgresql.log
        SOCKDIR=$PGBASE/run
        local sock=$SOCKDIR/.s.PGSQL.$ZZ_PG_PORT
        if ((${#sock} >= 100)); then
                SOCKDIR=/tmp/zizhu-pg-$ZZ_HASH
                zz_log "socket path ${#sock} chars long: socket in $SOCKDIR instead"
        fi
}

prepare_dirs() {
        mkdir -p "$PGDATA" "$PGLOGDIR" "$SOCKDIR"
        if ((EUID == 0)); then
                chown "$PG_OS_USER:$PG_OS_USER" "$PGDATA" "$PGLOGDIR" "$SOCKDIR"
        fi
        # The log may quote statements with their parameters; the socket is
        # for the owner (clients use loopback TCP).
        chmod 700 "$PGDATA" "$SOCKDIR" "$PGLOGDIR"
        chmod -R go-rwx "$PGLOGDIR"
}

is_running() {
        zz_pid_alive "$(pg_pid)" && as_pg "$PGBIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1
}

# Wait until the running server accepts connections (crash recovery can take a while).
wait_ready() {
        local t0=$SECONDS next=5
        until "$PGBIN/pg_isready" -q -h "$ZZ_PG_HOST" -p "$ZZ_PG_PORT" -t 5; do
                zz_pid_alive "$(pg_pid)" || zz_die "postgres exited (log $PGLOG)"
                if ((SECONDS - t0 >= 60)); then
                        tail -n 30 "$PGLOG" >&2 || true
                        zz_die "postgres not accepting connections on $ZZ_PG_HOST:$ZZ_PG_PORT after 60 s"
                fi
                if ((SECONDS - t0 >= next)); then
                        zz_log "waiting for postgres ($((SECONDS - t0)) s)"
                        next=$((next + 5))
                fi
                sleep 1
        done
}

pg_pid() {
        head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true
}

init_cluster() {
        if [[ -f $PGDATA/PG_VERSION ]]; then
                return 0
        fi
        if [[ -n $(ls -A "$PGDATA") ]]; then
                zz_die "$PGDATA is not empty but holds no cluster: move it away"
        fi
        zz_log "initdb in $PGDATA"
        # --auth=trust: local socket and loopback TCP without password (dev stack only).
        as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust \
                --encoding=UTF8 --locale=C.UTF-8 >"$PGLOGDIR/initdb.log" 2>&1 || {
                cat "$PGLOGDIR/initdb.log" >&2
                zz_die "initdb failed"
        }
}

write_config() {
        local conf=$PGDATA/zizhu.conf
        cat >"$conf.new" <<EOF
# generated by deploy/local/pg.sh on every up; included from postgresql.conf
listen_addresses = '$ZZ_PG_HOST'
port = $ZZ_PG_PORT
unix_socket_directories = '$SOCKDIR'
max_connections = 100

# memory, for a 2-core dev box
shared_buffers = 256MB
work_mem = 8MB
maintenance_work_mem = 128MB
effective_cache_size = 1GB
# the working set is in memory (or on SSD): a random page costs about what
# a sequential one does. At the default 4 the planner answered the worker's
# lookups of 500 persons with hash joins over whole tables (100 000
# persons: 13 ms instead of 1.7 ms a lookup).
random_page_cost = 1.1

# durability stays on
fsync = on
synchronous_commit = on
full_page_writes = on

# WAL: moderate
wal_level = replica
wal_buffers = 16MB
min_wal_size = 256MB
max_wal_size = 1GB
checkpoint_timeout = 10min
checkpoint_completion_target = 0.9

# logging goes to the file given to pg_ctl -l
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_min_error_statement = error

# statement statistics for profiling (tests/bench/run.sh --profile reads them)
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
EOF
        mv "$conf.new" "$conf"
        ((EUID == 0)) && chown "$PG_OS_USER:$PG_OS_USER" "$conf"
        chmod 600 "$conf"
        if ! grep -q "^include_if_exists = 'zizhu.conf'" "$PGDATA/postgresql.conf"; then
                printf "\n# zizhu dev settings (deploy/local/pg.sh)\ninclude_if_exists = 'zizhu.conf'\n" >>"$PGDATA/postgresql.conf"
        fi
}

psql_su() {
        as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$ZZ_PG_PORT" -U postgres -d postgres "$@"
}

bootstrap_db() {
        if [[ $(psql_su -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'") != 1 ]]; then
                psql_su -c "CREATE ROLE $ROLE LOGIN CREATEDB"
                zz_log "created role $ROLE (login, createdb)"
        fi
        if [[ $(psql_su -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'") != 1 ]]; then
                psql_su -c "CREATE DATABASE $DB OWNER $ROLE ENCODING 'UTF8' TEMPLATE template0"
                zz_log "created database $DB (owner $ROLE)"
        fi
        # The read-only dashboard role and its grants (idempotent; fed on
        # stdin so the postgres user needs no access to the checkout).
        as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$ZZ_PG_PORT" \
                -U postgres -d "$DB" <deploy/local/roles.sql
}

cmd_up() {
        resolve_paths
        [[ -z $FALLBACK ]] || zz_log "$FALLBACK"
        prepare_dirs
        init_cluster
        write_config
        if is_running; then
                zz_log "already running (pid $(pg_pid))"
        else
                # a postmaster just killed may linger as a zombie until init reaps it
                local old
                old=$(pg_pid)
                if [[ -n $old && $(cat "/proc/$old/comm" 2>/dev/null) == postgres ]] &&
                        ! zz_wait_gone "$old" 15; then
                        zz_die "stale postmaster $old still present"
                fi
                if zz_port_busy "$ZZ_PG_PORT"; then
                        zz_die "port $ZZ_PG_PORT is taken by another process: $(ss -Hltnp "( sport = :$ZZ_PG_PORT )" | head -n1)"
                fi
                zz_log "starting PostgreSQL $(cat "$PGDATA/PG_VERSION") (log $PGLOG)"
                local t0=$SECONDS
                # 9>&-: the server must not inherit the lock
                if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 -s start 9>&-; then
                        echo "----- tail of $PGLOG -----" >&2
                        tail -n 30 "$PGLOG" >&2 || true
                        zz_die "postgres did not start"
                fi
                zz_log "started (pid $(pg_pid), $((SECONDS - t0)) s)"
        fi
        wait_ready
        bootstrap_db
        zz_log "ready: host=$ZZ_PG_HOST port=$ZZ_PG_PORT dbname=$DB user=$ROLE"
}

cmd_down() {
        resolve_paths
        if [[ ! -f $PGDATA/PG_VERSION ]] || ! is_running; then
                zz_log "not running"
                return 0
        fi
        local pid t0=$SECONDS
        pid=$(pg_pid)
        zz_log "stopping postgres (pid $pid)"
        if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 -s stop; then
                zz_warn "fast shutdown failed: immediate"
                as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 -s stop || true
        fi
        if zz_pid_alive "$pid" postgres; then
                zz_warn "postmaster $pid still alive: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
        fi
        zz_log "stopped in $((SECONDS - t0)) s"
}

cmd_row() {
        resolve_paths >/dev/null
        local state=down pid=-
        if [[ -f $PGDATA/PG_VERSION ]] && is_running; then
                pid=$(pg_pid)
                if "$PGBIN/pg_isready" -q -h "$ZZ_PG_HOST" -p "$ZZ_PG_PORT" -t 3; then state=up; else state=starting; fi
        fi
        printf '%-8s %-9s %-46s %s\n' postgres "$state" "$ZZ_PG_HOST:$ZZ_PG_PORT (socket $SOCKDIR)" "$pid"
        [[ $state == up ]]
}

cmd_status() {
        local rc=0
        cmd_row || rc=3
        [[ -z $FALLBACK ]] || echo "  note:    $FALLBACK"
        echo "  data:    $PGDATA"
        echo "  log:     $PGLOG"
        echo "  connect: psql 'host=$ZZ_PG_HOST port=$ZZ_PG_PORT dbname=$DB user=$ROLE'"
        return $rc
}

case ${1:-} in
up)
        zz_lock "$ZZ_STATE/pg/.lock"
        cmd_up
        ;;
down)
        zz_lock "$ZZ_STATE/pg/.lock"
        cmd_down
        ;;
status) cmd_status ;;
row) cmd_row ;;
*)
        echo "usage: $0 up|down|status" >&2
        exit 2
        ;;
esac
