#!/usr/bin/env bash
# tls.sh — who the cluster's Kafka refuses before any ACL is looked at
# (ctest -L cluster; needs deploy/cluster/kafka.sh up, fails without it):
#
#   - a PLAINTEXT client, on each of the three listeners
#   - SASL_PLAINTEXT (the right password, no TLS)
#   - the wrong password; a user that does not exist
#   - a client that trusts only an unrelated CA (ca.sh other), right password
#   - a TLS client without a certificate on the brokers' own listener
#   - a certificate of the cluster's CA that is not a node's: it connects to
#     the brokers' listener but is not the broker principal, so it may do
#     nothing (the principal mapping elevates the nodes' certificates only)
# and, so that none of these passes for a broken cluster, the right
# settings are accepted (the role's file; a node's certificate).
#
# Each case runs zz-cluster-probe with a client file made here (0600, in a
# private temporary directory removed at exit). Prints one row per case
# and "N passed, N failed". Needs ZZ_SOURCE_DIR and ZZ_PROBE (set by ctest).
set -euo pipefail
cd "${ZZ_SOURCE_DIR:?}"
ZZ_COMPONENT=tls-test
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
# shellcheck source=deploy/cluster/lib.sh
. deploy/cluster/lib.sh
probe=${ZZ_PROBE:?}
clients=$ZZC_STATE/clients
unset ZIZHU_CONFIG ZIZHU_BOOTSTRAP ZIZHU_PG ZIZHU_TOPIC_PREFIX

if ! bash deploy/cluster/kafka.sh status; then
        echo "FAIL: the cluster's Kafka is not up: run ./zz cluster up (or deploy/cluster/kafka.sh up) first" >&2
        exit 1
fi
role=tax
conf=$clients/$role.kafka.conf
[[ -s $conf ]] || zz_die "no $conf: run deploy/cluster/kafka.sh up"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# value KEY: KEY's value in the role's file
value() { sed -n "s/^$1 = //p" "$conf"; }
endpoints() { # endpoints BASE_PORT: the three nodes' endpoints
        local n out=
        for n in k1 k2 k3; do out+=${out:+,}$(zzc_addr "$n"):$(zzc_port "$n" "$1"); done
        echo "$out"
}

# client NAME LINE...: a client file NAME.conf of the given lines
client() {
        local name=$1
        shift
        printf '%s\n' "$@" >"$tmp/$name.conf"
}

other_ca=$(bash deploy/cluster/ca.sh other)
bash deploy/cluster/ca.sh server tls-test-client w1 >/dev/null
bootstrap=$(value bootstrap)
ca=$(value kafka.ssl.ca.location)
password=$(value kafka.sasl.password)

client right "bootstrap = $bootstrap" "kafka.security.protocol = SASL_SSL" \
        "kafka.sasl.mechanisms = SCRAM-SHA-512" "kafka.sasl.username = $role" \
        "kafka.sasl.password = $password" "kafka.ssl.ca.location = $ca"
client plaintext-client "bootstrap = $bootstrap" "kafka.security.protocol = PLAINTEXT"
client plaintext-broker "bootstrap = $(endpoints 9095)" "kafka.security.protocol = PLAINTEXT"
client plaintext-controller "bootstrap = $(endpoints 9093)" "kafka.security.protocol = PLAINTEXT"
client sasl-plaintext "bootstrap = $bootstrap" "kafka.security.protocol = SASL_PLAINTEXT" \
        "kafka.sasl.mechanisms = SCRAM-SHA-512" "kafka.sasl.username = $role" \
        "kafka.sasl.password = $password"
client wrong-password "bootstrap = $bootstrap" "kafka.security.protocol = SASL_SSL" \
        "kafka.sasl.mechanisms = SCRAM-SHA-512" "kafka.sasl.username = $role" \
        "kafka.sasl.password = not-$(openssl rand -hex 8)" "kafka.ssl.ca.location = $ca"
client unknown-user "bootstrap = $bootstrap" "kafka.security.protocol = SASL_SSL" \
        "kafka.sasl.mechanisms = SCRAM-SHA-512" "kafka.sasl.username = nobody-$(openssl rand -hex 4)" \
        "kafka.sasl.password = $password" "kafka.ssl.ca.location = $ca"
client other-ca "bootstrap = $bootstrap" "kafka.security.protocol = SASL_SSL" \
        "kafka.sasl.mechanisms = SCRAM-SHA-512" "kafka.sasl.username = $role" \
        "kafka.sasl.password = $password" "kafka.ssl.ca.location = $other_ca"
client broker-no-cert "bootstrap = $(endpoints 9095)" "kafka.security.protocol = SSL" \
        "kafka.ssl.ca.location = $ca"
client broker-cert "bootstrap = $(endpoints 9095)" "kafka.security.protocol = SSL" \
        "kafka.ssl.ca.location = $ca" "kafka.ssl.certificate.location = $ZZC_CA/k1.crt" \
        "kafka.ssl.key.location = $ZZC_CA/k1.key"
client ca-cert-not-node "bootstrap = $(endpoints 9095)" "kafka.security.protocol = SSL" \
        "kafka.ssl.ca.location = $ca" "kafka.ssl.certificate.location = $ZZC_CA/tls-test-client.crt" \
        "kafka.ssl.key.location = $ZZC_CA/tls-test-client.key"
# the ACL test's topic (acl.sh makes it); the broker principal may write it
topic=zzacltest.control
"$probe" --config "$clients/admin.kafka.conf" ensure-topic "$topic" 1 >/dev/null ||
        zz_die "could not create $topic"

# name  operation  expected: allowed | denied (authorization) | refused
# (authentication or TLS) | failed (any failure: the broker hangs up on a
# client that does not speak its listener's protocol)
cases="right metadata allowed
right produce-denied denied
plaintext-client metadata failed
plaintext-broker metadata failed
plaintext-controller metadata failed
sasl-plaintext metadata failed
wrong-password metadata refused
unknown-user metadata refused
other-ca metadata refused
broker-no-cert metadata failed
broker-cert metadata allowed
broker-cert produce allowed
ca-cert-not-node produce denied"

pass=0 fail=0
printf '%-22s %-16s %-9s %-9s %-5s %s\n' client operation expected got result 'probe says'
while read -r name op expect; do
        args=("$op")
        case $op in
        produce) args=(produce "$topic") ;;
        # tax may not write anything: authenticated, then denied
        produce-denied) args=(produce "$topic") ;;
        esac
        rc=0
        out=$(timeout 60 "$probe" --config "$tmp/$name.conf" "${args[@]}" 2>>"$tmp/probe.err") || rc=$?
        case $rc in
        0) got=allowed ;;
        1) got=denied ;;
        3) got=refused ;;
        *) got=failed ;;
        esac
        ok=0
        if [[ $got == "$expect" ]]; then ok=1; fi
        # a refusal is also a failure to connect
        if [[ $expect == failed && $got == refused ]]; then ok=1; fi
        if ((ok)); then
                res=PASS
                pass=$((pass + 1))
        else
                res=FAIL
                fail=$((fail + 1))
        fi
        printf '%-22s %-16s %-9s %-9s %-5s %s\n' "$name" "$op" "$expect" "$got" "$res" "$out"
done <<<"$cases"
errlog=$tmp/probe.err
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$errlog" 2>/dev/null; then
        grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$errlog"
        echo "FAIL: sanitizer reports from zz-cluster-probe (above)"
        fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
((fail == 0))
