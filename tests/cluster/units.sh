#!/usr/bin/env bash
# units.sh — the systemd units on the cluster (issue 12 item 5): the subsidy
# and settlement workers started with exactly the command line and
# environment their unit gives them (tests/systemd/units.sh start), the
# example environment file with the cluster's addresses, the example
# credential file with the placeholders filled in (the role's SCRAM
# password, the cluster's CA) and the role's pgpass as the pgpass
# credential. Each must authenticate to Kafka (SASL_SSL) and PostgreSQL
# (scram over TLS, the multi-host conninfo of the example), pass its
# start-up checks, and exit 0 when idle. Needs the cluster up with the
# topic plan, ACLs and schema for the prefix zz. (./zz test's cluster
# stage, or ./zz demo --cluster); fails otherwise.
#
# Needs ZZ_SOURCE_DIR and ZZ_BIN_DIR (set by ctest).
set -euo pipefail
cd "${ZZ_SOURCE_DIR:?}"
ZZ_COMPONENT=units-test
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
clients=$ZZ_STATE/cluster/clients
ex=deploy/systemd/examples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset ZIZHU_CONFIG ZIZHU_BOOTSTRAP ZIZHU_PG ZIZHU_TOPIC_PREFIX

bash deploy/cluster/cluster.sh status >/dev/null ||
        { echo "FAIL: the cluster is not up: run ./zz cluster up first" >&2; exit 1; }

# key FILE NAME: the value of "NAME = value" in a client settings file
key() { sed -n "s/^$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n 1; }

# run ROLE UNIT ENVFILE CREDFILE [args]: the unit's program as ROLE
run() {
        local role=$1 unit=$2 envfile=$3 cred=$4 conf pg rc=0
        shift 4
        conf=$clients/$role.conf
        [[ -s $conf ]] || { echo "FAIL: no $conf" >&2; return 1; }
        # the example credential file, placeholders filled in; the password
        # goes through a file, never a command line
        key "$conf" kafka.sasl.password >"$tmp/pw"
        python3 - "$ex/$cred" "$tmp/pw" "$(key "$conf" kafka.ssl.ca.location)" >"$tmp/$cred" <<'PY'
import sys
text = open(sys.argv[1]).read()
pw = open(sys.argv[2]).read().strip()
text = text.replace("<password>", pw).replace("/etc/zizhu/ca.pem", sys.argv[3])
text = text.replace("pseudonym_key = <replace>", "pseudonym_key = zizhu-demo-key-not-secret-0123456789")
sys.stdout.write(text)
PY
        chmod 0600 "$tmp/$cred"
        pg=$(key "$conf" pg | sed 's/ passfile=[^ ]*//')
        echo "starting $unit as $role (credential $cred, pgpass $role.pgpass)"
        ZIZHU_BOOTSTRAP=$(key "$conf" bootstrap) ZIZHU_PG=$pg ZIZHU_TOPIC_PREFIX=zz. \
                ZZ_TEST_GROUP=${ZZ_GROUP_OF_UNIT:?} ZZ_TEST_SUBSIDY_GROUP=zizhu-subsidy \
                ZZ_UNITS_PGPASS=$clients/$role.pgpass ZZ_UNITS_TRACE= \
                sh tests/systemd/units.sh start "$unit" "$envfile" "$tmp/$cred" "$@" \
                >"$tmp/$role.log" 2>&1 || rc=$?
        grep -v 'password' "$tmp/$role.log" | tail -n 15
        if grep -q "$(cat "$tmp/pw")" "$tmp/$role.log"; then
                echo "FAIL: $unit logged its password" >&2
                return 1
        fi
        if [[ $rc != 0 ]]; then
                echo "FAIL: $unit as $role exited $rc" >&2
                return 1
        fi
        echo "ok: $unit as $role exited 0"
}

fail=0
ZZ_GROUP_OF_UNIT=zizhu-subsidy run subsidy zizhu-subsidy-worker@.service \
        zizhu-subsidy-worker.env subsidy-worker.conf --idle-exit 3000 || fail=1
ZZ_GROUP_OF_UNIT=zizhu-settlement run settlement zizhu-settlement-worker.service \
        zizhu-settlement-worker.env settlement-worker.conf --idle-exit 3000 || fail=1
exit $fail
