#!/usr/bin/env bash
# The cluster a province would run, on this one machine: three Kafka 3.9 KRaft
# nodes (SASL_SSL, SCRAM-SHA-512, ACLs) and PostgreSQL 15 primary + synchronous
# standby (scram-sha-256, TLS verify-full), each node in its own network
# namespace (net.sh), certificates from the script's own CA (ca.sh).
#
#   deploy/cluster/cluster.sh up        network, CA, Kafka, PostgreSQL (idempotent; waits until ready)
#   deploy/cluster/cluster.sh down      stop every node, remove the namespaces
#   deploy/cluster/cluster.sh status    one line per node (exit 0 if all up, 3 if not)
#   deploy/cluster/cluster.sh env [ROLE]
#                                       the client settings of ROLE (default admin):
#                                       eval "$(deploy/cluster/cluster.sh env subsidy)"
#   deploy/cluster/cluster.sh roles     the roles that have client settings
#
# Client settings: one configuration file per role, .zz/cluster/clients/ROLE.conf
# (0600: it holds the role's Kafka password; the PostgreSQL password is in the
# libpq passfile it names), made by concatenating the role's Kafka and
# PostgreSQL fragments that kafka.sh and pg.sh write. `env` prints
# ZIZHU_CONFIG for it and unsets ZIZHU_BOOTSTRAP and ZIZHU_PG, which would
# otherwise win over the file (config.h: the environment beats the file).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=cluster
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
# shellcheck source=deploy/cluster/lib.sh
. deploy/cluster/lib.sh
CLIENTS=$ZZC_STATE/clients

# clients: ROLE.conf = ROLE.kafka.conf + ROLE.pg.conf (whichever exist)
clients() {
        local f role seen=" "
        zz_private "$CLIENTS"
        for f in "$CLIENTS"/*.kafka.conf "$CLIENTS"/*.pg.conf; do
                [[ -e $f ]] || continue
                role=$(basename "$f")
                role=${role%.kafka.conf}
                role=${role%.pg.conf}
                [[ $seen == *" $role "* ]] && continue
                seen="$seen$role "
                {
                        echo "# client settings of the role '$role' on the zizhu cluster (cluster.sh)"
                        [[ -e $CLIENTS/$role.kafka.conf ]] && cat "$CLIENTS/$role.kafka.conf"
                        [[ -e $CLIENTS/$role.pg.conf ]] && cat "$CLIENTS/$role.pg.conf"
                } >"$CLIENTS/$role.conf.new"
                mv "$CLIENTS/$role.conf.new" "$CLIENTS/$role.conf"
        done
}

cmd_up() {
        local t0=$SECONDS
        bash deploy/cluster/net.sh up
        bash deploy/cluster/ca.sh init
        bash deploy/cluster/kafka.sh up
        bash deploy/cluster/pg.sh up
        clients
        zz_log "cluster up in $((SECONDS - t0)) s ($(zzc_mode))"
        cmd_status || true
}

cmd_down() {
        local rc=0
        bash deploy/cluster/kafka.sh down || rc=1
        bash deploy/cluster/pg.sh down || rc=1
        bash deploy/cluster/net.sh down || rc=1
        return $rc
}

cmd_status() {
        local rc=0
        bash deploy/cluster/net.sh status || rc=3
        bash deploy/cluster/kafka.sh status || rc=3
        bash deploy/cluster/pg.sh status || rc=3
        return $rc
}

cmd_env() {
        local role=${1:-admin}
        [[ -e $CLIENTS/$role.kafka.conf || -e $CLIENTS/$role.pg.conf ]] || clients
        [[ -e $CLIENTS/$role.conf ]] || clients
        [[ -e $CLIENTS/$role.conf ]] ||
                zz_die "no client settings for the role '$role' (is the cluster up? roles: $(cmd_roles | tr '\n' ' '))"
        echo "export ZIZHU_CONFIG=$CLIENTS/$role.conf"
        echo "unset ZIZHU_BOOTSTRAP ZIZHU_PG"
}

cmd_roles() {
        local f
        for f in "$CLIENTS"/*.conf; do
                [[ -e $f ]] || continue
                f=$(basename "$f" .conf)
                [[ $f == *.kafka || $f == *.pg ]] || echo "$f"
        done
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) shift; cmd_env "$@" ;;
roles) cmd_roles ;;
*)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
