#!/usr/bin/env bash
# PostgreSQL 15 of the cluster: a primary on pg1 and a synchronous streaming
# standby on pg2, each in its node's namespace (lib.sh), scram-sha-256 over
# TLS only, server certificates from ca.sh.
#
#   deploy/cluster/pg.sh up           initdb pg1 once, base backup pg2 once, start both, roles,
#                                     database zizhu, client settings (idempotent; after a
#                                     promotion, the same with the nodes' parts swapped)
#   deploy/cluster/pg.sh down         stop both (fast, then immediate)
#   deploy/cluster/pg.sh status       one line per node: role, replication state (exit 3 unless both up)
#   deploy/cluster/pg.sh promote      promote the standby (pg2 at first) and wait until it accepts writes
#   deploy/cluster/pg.sh kill NODE    kill -9 NODE's postmaster (failover tests)
#   deploy/cluster/pg.sh start NODE   start NODE again (refused for a primary that another's promotion replaced)
#   deploy/cluster/pg.sh rejoin NODE  NODE anew as the synchronous standby of the primary (a new base backup)
#
# Data in .zz/cluster/pg/pg1 and pg2 (0700, the postgres system user); beside
# each, NODE.d holds what the server reads or writes outside its data:
# certificate and key, the CA, the standby's replication passfile, the log and
# the unix socket (superuser access is `peer` on that socket only).
#
# Replication: synchronous_standby_names = 'pg2' and synchronous_commit =
# remote_apply on pg1. A commit returns once pg2 has flushed AND applied it,
# so a transaction a worker saw committed is on pg2's disk (what a promotion
# needs; `on` would give that much) and also visible to a query on pg2 at
# once (read-your-writes for whoever reads the standby, and what the cluster
# tests check). If pg2 is gone, commits on pg1 wait: the price of never
# losing an acknowledged transaction. A physical slot 'pg2' keeps the WAL pg2
# has not received. Generally: the primary (pg1 until a promotion, recorded
# in .zz/cluster/pg/primary) names the other node as its synchronous standby
# while that node's data is a standby's (standby.signal), and each standby
# streams under a slot named after itself. After `promote`, the new primary
# runs alone (the old one is no standby) and the old primary is never
# started as a second one: `rejoin OLD` makes it the new one's standby.
#
# Roles (passwords in secret files, zzc_secret pg-ROLE, set through psql
# variables read from stdin, never on a command line, never logged):
#   zizhu            owns database zizhu: workers, feeds, migrations (no CREATEDB)
#   zizhu_dashboard  reads the zizhu_dash views only (deploy/local/roles.sql)
#   zizhu_auditor    reads every table and view, writes nothing; CREATEDB for its
#                    replay databases (deploy/local/roles.sql)
#   zizhu_replicator REPLICATION, for pg2's walreceiver only
# Client settings: .zz/cluster/clients/ROLE.pg.conf and ROLE.pgpass per
# cluster role (see role_map): multi-host host=pg1,pg2 with
# target_session_attrs=read-write, sslmode=verify-full against the CA.
#
# Environment: ZIZHU_PG_BIN (server binaries, default /usr/lib/postgresql/15/bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=pg-cluster
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
# shellcheck source=deploy/cluster/lib.sh
. deploy/cluster/lib.sh

PGBIN=${ZIZHU_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_OS_USER=postgres
PG_NODES="pg1 pg2"
PG_BASE=$ZZC_STATE/pg
CLIENTS=$ZZC_STATE/clients
DB=zizhu
REPL_ROLE=zizhu_replicator

# The PostgreSQL role of each cluster role (tax has none: it reads Kafka only).
role_map() {
        case $1 in
        admin | subsidy | settlement | operator | loadgen | feed-*) echo zizhu ;;
        dashboard) echo zizhu_dashboard ;;
        auditor) echo zizhu_auditor ;;
        *) echo "" ;;
        esac
}
CLUSTER_ROLES="admin feed-mca feed-mva feed-rrb feed-dpf feed-nhc feed-edu feed-enrollment
feed-payment operator subsidy settlement loadgen dashboard auditor"

node_data() { echo "$PG_BASE/$1"; }
node_dir() { echo "$PG_BASE/$1.d"; }
node_port() { zzc_port "$1" 5432; }
node_log() { echo "$(node_dir "$1")/postgresql.log"; }
other_node() { if [[ $1 == pg1 ]]; then echo pg2; else echo pg1; fi; }
# The node that is the primary by the last promotion (pg1 until one):
# written by `promote`, so that the old primary is never started as a
# second one.
PRIMARY_FILE=$PG_BASE/primary
current_primary() { if [[ -s $PRIMARY_FILE ]]; then cat "$PRIMARY_FILE"; else echo pg1; fi; }

# as_pg_on NODE CMD...: CMD as the postgres user inside NODE's namespace.
# initdb and postgres refuse to run as root.
as_pg_on() {
        local node=$1
        shift
        if ((EUID == 0)); then
                (cd / && zzc_exec "$node" runuser -u "$PG_OS_USER" -- "$@")
        else
                (cd / && zzc_exec "$node" "$@")
        fi
}

# The postgres user must pass through .zz and .zz/cluster (0711: it can
# reach its own directories, not list or read anything else there; net.sh
# and ca.sh keep the rest 0700/0600) for pg_ctl and psql here. Called by
# every command, since zz_private elsewhere (net.sh up) takes the x bit
# away again; a running server does not need it: its paths are relative to
# its data directory, inside .zz/cluster/pg, which the postgres user owns.
reach() {
        [[ -x $PGBIN/pg_ctl ]] || zz_die "$PGBIN/pg_ctl not found: run deploy/local/deps.sh first"
        mkdir -p "$PG_BASE"
        if ((EUID == 0)); then
                id "$PG_OS_USER" >/dev/null 2>&1 || zz_die "no $PG_OS_USER system user: run deploy/local/deps.sh first"
                chmod 711 "$ZZ_STATE" "$ZZC_STATE"
                # the postgres user's own: the server finds its files from its
                # data directory (../NODE.d/...), whatever the modes above
                chown "$PG_OS_USER:$PG_OS_USER" "$PG_BASE"
                chmod 700 "$PG_BASE"
                runuser -u "$PG_OS_USER" -- test -x "$PG_BASE" ||
                        zz_die "$PG_BASE is not reachable by the $PG_OS_USER user (a parent directory closed to it?)"
        else
                chmod 700 "$PG_BASE"
        fi
}

# own_dir DIR: DIR exists, belongs to the cluster's user, 0700.
own_dir() {
        mkdir -p "$1"
        ((EUID == 0)) && chown "$PG_OS_USER:$PG_OS_USER" "$1"
        chmod 700 "$1"
}

# install_file SRC DEST: a private copy the server (postgres user) can read.
install_file() {
        install -m 600 "$1" "$2"
        ((EUID == 0)) && chown "$PG_OS_USER:$PG_OS_USER" "$2"
        return 0
}

pg_pid() { head -n1 "$(node_data "$1")/postmaster.pid" 2>/dev/null || true; }

is_running() {
        local node=$1
        [[ -f $(node_data "$node")/PG_VERSION ]] && zz_pid_alive "$(pg_pid "$node")" &&
                as_pg_on "$node" "$PGBIN/pg_ctl" status -D "$(node_data "$node")" >/dev/null 2>&1
}

# psql_su NODE ARGS...: psql as the superuser over NODE's unix socket (peer).
psql_su() {
        local node=$1
        shift
        as_pg_on "$node" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(node_dir "$node")" \
                -p "$(node_port "$node")" -U postgres "$@"
}

# psql_boot NODE ARGS...: psql_su whose commits do not wait for the standby:
# the roles and the database are made before pg2 exists (pg2 is copied
# from them), and a second `up` must not hang while pg2 is down.
psql_boot() {
        local node=$1
        shift
        as_pg_on "$node" env PGOPTIONS='-c synchronous_commit=local' "$PGBIN/psql" -X -q \
                -v ON_ERROR_STOP=1 -h "$(node_dir "$node")" -p "$(node_port "$node")" -U postgres "$@"
}

wait_ready() {
        local node=$1 t0=$SECONDS next=5
        until as_pg_on "$node" "$PGBIN/pg_isready" -q -h "$(node_dir "$node")" -p "$(node_port "$node")" -t 5; do
                zz_pid_alive "$(pg_pid "$node")" || {
                        tail -n 20 "$(node_log "$node")" >&2 || true
                        zz_die "$node: postgres exited (log $(node_log "$node"))"
                }
                if ((SECONDS - t0 >= 90)); then
                        tail -n 30 "$(node_log "$node")" >&2 || true
                        zz_die "$node: not accepting connections after 90 s"
                fi
                if ((SECONDS - t0 >= next)); then
                        zz_log "$node: waiting for postgres ($((SECONDS - t0)) s)"
                        next=$((next + 5))
                fi
                sleep 1
        done
}

# tls NODE: NODE's server certificate and key and the CA, copied for the server.
tls() {
        local node=$1 d
        d=$(node_dir "$node")
        bash deploy/cluster/ca.sh server "$node" "$node"
        install_file "$ZZC_CA/$node.crt" "$d/server.crt"
        install_file "$ZZC_CA/$node.key" "$d/server.key"
        install_file "$ZZC_CA/ca.crt" "$d/root.crt"
}

write_config() {
        local node=$1 data d conf sync
        data=$(node_data "$node")
        d=$(node_dir "$node")
        conf=$data/zizhu-cluster.conf
        # the primary waits for the other node while that one is a standby
        sync="''"
        if [[ $node == "$(current_primary)" && -f $(node_data "$(other_node "$node")")/standby.signal ]]; then
                sync="'$(other_node "$node")'"
        fi
        cat >"$conf.new" <<EOF
# generated by deploy/cluster/pg.sh on every up; included from postgresql.conf
listen_addresses = '$(zzc_addr "$node")'
port = $(node_port "$node")
unix_socket_directories = '$d'
unix_socket_permissions = 0700
max_connections = 100
password_encryption = 'scram-sha-256'

ssl = on
ssl_cert_file = '../$node.d/server.crt'
ssl_key_file = '../$node.d/server.key'
ssl_min_protocol_version = 'TLSv1.2'

shared_buffers = 128MB
work_mem = 8MB
maintenance_work_mem = 64MB
random_page_cost = 1.1

fsync = on
full_page_writes = on
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
wal_keep_size = 256MB
hot_standby = on
hot_standby_feedback = on
# see pg.sh: commit returns once the standby has flushed and applied it
synchronous_standby_names = $sync
synchronous_commit = remote_apply

# the standby's side (read only in standby mode)
primary_conninfo = 'host=$(zzc_addr "$(other_node "$node")") port=$(node_port "$(other_node "$node")") user=$REPL_ROLE passfile=../$node.d/replication.pgpass sslmode=verify-full sslrootcert=../$node.d/root.crt application_name=$node'
primary_slot_name = '$node'

logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = on
log_min_messages = warning
log_min_error_statement = error
EOF
        mv "$conf.new" "$conf"
        ((EUID == 0)) && chown "$PG_OS_USER:$PG_OS_USER" "$conf"
        chmod 600 "$conf"
        if ! grep -q "^include_if_exists = 'zizhu-cluster.conf'" "$data/postgresql.conf"; then
                printf "\n# zizhu cluster settings (deploy/cluster/pg.sh)\ninclude_if_exists = 'zizhu-cluster.conf'\n" >>"$data/postgresql.conf"
        fi
        # TLS and scram-sha-256 on every TCP connection; the superuser over
        # the socket (peer) only.
        cat >"$data/pg_hba.conf" <<EOF
# generated by deploy/cluster/pg.sh
# TYPE  DATABASE     USER           ADDRESS      METHOD
local   all          postgres                    peer
local   all          all                         reject
hostssl replication  $REPL_ROLE     0.0.0.0/0    scram-sha-256
hostssl replication  all            0.0.0.0/0    reject
hostssl all          postgres       0.0.0.0/0    reject
hostssl all          $REPL_ROLE     0.0.0.0/0    reject
hostssl all          all            0.0.0.0/0    scram-sha-256
host    all          all            0.0.0.0/0    reject
host    all          all            ::/0         reject
EOF
        ((EUID == 0)) && chown "$PG_OS_USER:$PG_OS_USER" "$data/pg_hba.conf"
        chmod 600 "$data/pg_hba.conf"
}

# start NODE: pg_ctl start inside NODE's namespace; waits until ready.
start_node() {
        local node=$1 data old t0=$SECONDS
        data=$(node_data "$node")
        [[ -f $data/PG_VERSION ]] || zz_die "$node has no cluster yet: run pg.sh up"
        # a second primary would take the clients whose host list names it
        # first (and its commits would wait forever for a standby)
        if [[ $node != "$(current_primary)" && ! -f $data/standby.signal ]]; then
                zz_die "$node was the primary before $(current_primary) was promoted: it must become $(current_primary)'s standby (pg.sh rejoin $node), not start as a second primary"
        fi
        if is_running "$node"; then
                zz_log "$node: already running (pid $(pg_pid "$node"))"
                wait_ready "$node"
                return 0
        fi
        # a postmaster just killed may linger as a zombie until init reaps it
        old=$(pg_pid "$node")
        if [[ -n $old && $(cat "/proc/$old/comm" 2>/dev/null) == postgres ]] &&
                ! zz_wait_gone "$old" 15; then
                zz_die "$node: stale postmaster $old still present"
        fi
        zz_log "$node: starting PostgreSQL $(cat "$data/PG_VERSION") on $(zzc_addr "$node"):$(node_port "$node") (log $(node_log "$node"))"
        # 9>&-: the server must not inherit the lock
        if ! as_pg_on "$node" "$PGBIN/pg_ctl" -D "$data" -l "$(node_log "$node")" -w -t 90 -s start 9>&-; then
                tail -n 30 "$(node_log "$node")" >&2 || true
                zz_die "$node: postgres did not start"
        fi
        wait_ready "$node"
        zz_log "$node: started (pid $(pg_pid "$node"), $((SECONDS - t0)) s)"
}

stop_node() {
        local node=$1 pid
        if ! is_running "$node"; then
                zz_log "$node: not running"
                return 0
        fi
        pid=$(pg_pid "$node")
        zz_log "$node: stopping (pid $pid)"
        if ! as_pg_on "$node" "$PGBIN/pg_ctl" -D "$(node_data "$node")" -m fast -w -t 60 -s stop; then
                zz_warn "$node: fast shutdown failed: immediate"
                as_pg_on "$node" "$PGBIN/pg_ctl" -D "$(node_data "$node")" -m immediate -w -t 30 -s stop || true
        fi
        if zz_pid_alive "$pid" postgres; then
                zz_warn "$node: postmaster $pid still alive: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
        fi
}

init_primary() {
        local data
        data=$(node_data pg1)
        [[ -f $data/PG_VERSION ]] && return 0
        [[ -z $(ls -A "$data") ]] || zz_die "$data is not empty but holds no cluster: move it away"
        zz_log "pg1: initdb in $data"
        as_pg_on pg1 "$PGBIN/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=reject \
                --encoding=UTF8 --locale=C.UTF-8 --data-checksums >"$(node_dir pg1)/initdb.log" 2>&1 || {
                cat "$(node_dir pg1)/initdb.log" >&2
                zz_die "pg1: initdb failed"
        }
}

# set_password NODE ROLE: ROLE's password from its secret file, through a
# psql variable fed on stdin (the value never reaches a command line), with
# statement logging off for that session so no log quotes it.
set_password() {
        local node=$1 role=$2 pw
        pw=$(<"$(zzc_secret "pg-$role")")
        {
                printf '\\set pw %s\n' "$pw"
                printf "SET log_statement = 'none';\nSET log_min_error_statement = 'panic';\n"
                printf "SET log_min_duration_statement = -1;\n"
                printf 'ALTER ROLE %s PASSWORD :'"'"'pw'"'"';\n' "$role"
        } | psql_boot "$node" -d postgres
}

bootstrap_primary() {
        local node=$1 role
        psql_boot "$node" -d postgres <<EOF
SELECT format('CREATE ROLE zizhu LOGIN NOCREATEDB NOCREATEROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zizhu') \gexec
SELECT format('CREATE ROLE $REPL_ROLE LOGIN REPLICATION NOCREATEDB NOCREATEROLE')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$REPL_ROLE') \gexec
SELECT format('CREATE DATABASE $DB OWNER zizhu ENCODING ''UTF8'' TEMPLATE template0')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB') \gexec
EOF
        # the dashboard and auditor roles and the privileges (as on the dev
        # stack); on stdin, so the postgres user needs no access to the checkout
        psql_boot "$node" -d "$DB" <deploy/local/roles.sql
        for role in zizhu zizhu_dashboard zizhu_auditor "$REPL_ROLE"; do
                set_password "$node" "$role"
        done
        zz_log "$node: roles zizhu, zizhu_dashboard, zizhu_auditor, $REPL_ROLE and database $DB ready"
}

# passfile FILE ROLE: a libpq passfile for ROLE on both nodes (0600).
passfile() {
        local f=$1 role=$2 pw node
        pw=$(<"$(zzc_secret "pg-$role")")
        for node in $PG_NODES; do
                printf '%s:%s:*:%s:%s\n' "$(zzc_addr "$node")" "$(node_port "$node")" "$role" "$pw"
        done >"$f.new"
        chmod 600 "$f.new"
        mv "$f.new" "$f"
}

# standby NODE: NODE's data a base backup of the primary (the other node)
# under the slot NODE, when it has none yet.
init_standby() {
        local node=$1 from data d
        from=$(other_node "$node")
        data=$(node_data "$node")
        d=$(node_dir "$node")
        passfile "$d/replication.pgpass" "$REPL_ROLE"
        ((EUID == 0)) && chown "$PG_OS_USER:$PG_OS_USER" "$d/replication.pgpass"
        [[ -f $data/PG_VERSION ]] && return 0
        [[ -z $(ls -A "$data") ]] || zz_die "$data is not empty but holds no cluster: move it away"
        psql_boot "$from" -d postgres -Atc "SELECT pg_create_physical_replication_slot('$node') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$node')" >/dev/null
        zz_log "$node: base backup from $from over TLS (slot $node)"
        as_pg_on "$node" "$PGBIN/pg_basebackup" -D "$data" -X stream -S "$node" -c fast -R \
                -d "host=$(zzc_addr "$from") port=$(node_port "$from") user=$REPL_ROLE passfile=$d/replication.pgpass sslmode=verify-full sslrootcert=$d/root.crt application_name=$node" \
                >"$d/basebackup.log" 2>&1 || {
                cat "$d/basebackup.log" >&2
                zz_die "$node: pg_basebackup failed"
        }
        # -R wrote primary_conninfo into postgresql.auto.conf: ours (zizhu-cluster.conf) is the one
        : >"$data/postgresql.auto.conf"
        ((EUID == 0)) && chown "$PG_OS_USER:$PG_OS_USER" "$data/postgresql.auto.conf"
        [[ -f $data/standby.signal ]] || zz_die "$node: no standby.signal after the base backup"
}

# sync_standby PRIMARY: the primary's configuration again (naming its
# standby), reloaded, and a wait until the standby is synchronous.
sync_standby() {
        local primary=$1 standby n=0
        standby=$(other_node "$primary")
        write_config "$primary"
        psql_su "$primary" -d postgres -Atc 'SELECT pg_reload_conf()' >/dev/null
        until [[ $(psql_su "$primary" -d postgres -Atc "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$standby'") == sync ]]; do
                ((n++ < 60)) || zz_die "$standby is not a synchronous standby of $primary after 60 s"
                sleep 1
        done
        zz_log "$standby: synchronous standby of $primary"
}

# clients: ROLE.pg.conf and ROLE.pgpass for every cluster role with a PostgreSQL role.
clients() {
        local role pgrole hosts="" ports="" node tsa
        zz_private "$CLIENTS"
        for node in $PG_NODES; do
                hosts=${hosts:+$hosts,}$(zzc_addr "$node")
                ports=${ports:+$ports,}$(node_port "$node")
        done
        # one port stands for every host (netns mode); a list on loopback
        [[ $(tr ',' '\n' <<<"$ports" | sort -u | wc -l) == 1 ]] && ports=${ports%%,*}
        for role in $CLUSTER_ROLES; do
                pgrole=$(role_map "$role")
                [[ -n $pgrole ]] || continue
                passfile "$CLIENTS/$role.pgpass" "$pgrole"
                # read-write finds the primary; the dashboard's sessions are
                # read only (roles.sql), which read-write would refuse on
                # every node, so it asks for the primary as such
                tsa=read-write
                [[ $pgrole == zizhu_dashboard ]] && tsa=primary
                {
                        echo "# PostgreSQL for the cluster role '$role' (pg.sh): the primary of pg1/pg2, TLS verified"
                        echo "pg = host=$hosts port=$ports dbname=$DB user=$pgrole sslmode=verify-full sslrootcert=$ZZC_CA/ca.crt target_session_attrs=$tsa passfile=$CLIENTS/$role.pgpass"
                } >"$CLIENTS/$role.pg.conf.new"
                chmod 600 "$CLIENTS/$role.pg.conf.new"
                mv "$CLIENTS/$role.pg.conf.new" "$CLIENTS/$role.pg.conf"
        done
        zz_log "client settings in $CLIENTS (ROLE.pg.conf, ROLE.pgpass; tax has none)"
}

in_recovery() { psql_su "$1" -d postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null; }

cmd_up() {
        local t0=$SECONDS node primary standby
        zz_need openssl
        reach
        for node in $PG_NODES; do
                own_dir "$(node_data "$node")"
                own_dir "$(node_dir "$node")"
                tls "$node"
        done
        # pg1 is the primary and pg2 its standby, until a promotion swaps them
        primary=$(current_primary)
        standby=$(other_node "$primary")
        if [[ $primary == pg1 ]]; then
                init_primary
        else
                [[ -f $(node_data "$primary")/PG_VERSION ]] || zz_die "$primary, the primary since a promotion, has no data"
        fi
        write_config "$primary"
        start_node "$primary"
        bootstrap_primary "$primary"
        init_standby "$standby"
        write_config "$standby"
        start_node "$standby"
        [[ $(in_recovery "$standby") == t ]] || zz_die "$standby is not in recovery: not a standby"
        sync_standby "$primary"
        clients
        zz_log "PostgreSQL cluster up in $((SECONDS - t0)) s"
}

cmd_down() {
        local node
        [[ -d $PG_BASE ]] || { zz_log "not running"; return 0; }
        reach
        # the standby first, so the primary's fast shutdown waits on no one
        for node in "$(other_node "$(current_primary)")" "$(current_primary)"; do stop_node "$node"; done
}

# row NODE: NODE, role, state, address, pid and replication
row() {
        local node=$1 role=- state=down repl=- pid=-
        if is_running "$node"; then
                pid=$(pg_pid "$node")
                state=starting
                if as_pg_on "$node" "$PGBIN/pg_isready" -q -h "$(node_dir "$node")" -p "$(node_port "$node")" -t 3; then
                        state=up
                        if [[ $(in_recovery "$node") == t ]]; then
                                role=standby
                                repl=$(psql_su "$node" -d postgres -Atc \
                                        "SELECT 'receiver ' || status || ' from ' || sender_host FROM pg_stat_wal_receiver" || true)
                                [[ -n $repl ]] || repl="receiver none"
                        else
                                role=primary
                                repl=$(psql_su "$node" -d postgres -Atc \
                                        "SELECT string_agg(application_name || ' ' || state || ' ' || sync_state, ', ') FROM pg_stat_replication" || true)
                                [[ -n $repl ]] || repl="no standby"
                        fi
                fi
        fi
        printf '%-4s %-8s %-6s %-18s %-8s %s\n' "$node" "$role" "$state" "$(zzc_addr "$node"):$(node_port "$node")" "$pid" "$repl"
        [[ $state == up ]]
}

cmd_status() {
        local rc=0 node
        reach 2>/dev/null || true
        printf '%-4s %-8s %-6s %-18s %-8s %s\n' NODE ROLE STATE ADDRESS PID REPLICATION
        for node in $PG_NODES; do row "$node" || rc=3; done
        return $rc
}

cmd_promote() {
        local t0=$SECONDS n=0 node
        reach
        node=$(other_node "$(current_primary)")
        is_running "$node" || zz_die "$node (the standby) is not running"
        if [[ $(in_recovery "$node") != t ]]; then
                zz_log "$node is already a primary"
        else
                is_running "$(current_primary)" &&
                        zz_warn "$(current_primary) still runs as the primary: two primaries now (clients that reach it see it first in their host list)"
                zz_log "promoting $node"
                as_pg_on "$node" "$PGBIN/pg_ctl" -D "$(node_data "$node")" -w -t 60 -s promote ||
                        zz_die "$node: pg_ctl promote failed (log $(node_log "$node"))"
        fi
        # accepts writes: out of recovery and able to assign a transaction id
        until [[ $(in_recovery "$node") == f ]] &&
                psql_su "$node" -d postgres -Atc 'SELECT pg_current_xact_id()' >/dev/null 2>&1; do
                ((n++ < 60)) || zz_die "$node does not accept writes 60 s after the promotion"
                sleep 1
        done
        echo "$node" >"$PRIMARY_FILE"
        # alone: the old primary is no standby (its commits would wait for it)
        write_config "$node"
        psql_su "$node" -d postgres -Atc 'SELECT pg_reload_conf()' >/dev/null
        zz_log "$node is the primary and accepts writes ($((SECONDS - t0)) s)"
}

# rejoin NODE: NODE's data replaced by a base backup of the primary, NODE
# started as its synchronous standby.
cmd_rejoin() {
        local node=${1:?usage: pg.sh rejoin NODE} primary
        [[ " $PG_NODES " == *" $node "* ]] || zz_die "unknown PostgreSQL node '$node' ($PG_NODES)"
        reach
        primary=$(current_primary)
        [[ $node != "$primary" ]] || zz_die "$node is the primary"
        is_running "$primary" || zz_die "$primary (the primary) is not running"
        stop_node "$node"
        zz_log "$node: its data goes, a base backup of $primary replaces it"
        find "$(node_data "$node")" -mindepth 1 -delete
        tls "$node"
        init_standby "$node"
        write_config "$node"
        start_node "$node"
        sync_standby "$primary"
}

cmd_kill() {
        local node=${1:?usage: pg.sh kill NODE} pid
        [[ " $PG_NODES " == *" $node "* ]] || zz_die "unknown PostgreSQL node '$node' ($PG_NODES)"
        reach
        pid=$(pg_pid "$node")
        zz_pid_alive "$pid" postgres || { zz_log "$node: not running"; return 0; }
        kill -KILL "$pid"
        zz_wait_gone "$pid" 15 || zz_warn "$node: postmaster $pid not reaped yet"
        zz_log "$node: killed the postmaster (pid $pid, SIGKILL)"
}

cmd_start() {
        local node=${1:?usage: pg.sh start NODE}
        [[ " $PG_NODES " == *" $node "* ]] || zz_die "unknown PostgreSQL node '$node' ($PG_NODES)"
        reach
        start_node "$node"
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
up)
        zz_lock "$PG_BASE/.lock"
        cmd_up
        ;;
down)
        zz_lock "$PG_BASE/.lock"
        cmd_down
        ;;
status) cmd_status ;;
promote)
        zz_lock "$PG_BASE/.lock"
        cmd_promote
        ;;
kill) cmd_kill "$@" ;;
start)
        zz_lock "$PG_BASE/.lock"
        cmd_start "$@"
        ;;
rejoin)
        zz_lock "$PG_BASE/.lock"
        cmd_rejoin "$@"
        ;;
*)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
