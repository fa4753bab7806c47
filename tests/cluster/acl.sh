#!/usr/bin/env bash
# acl.sh — the table-driven least-privilege test of the cluster's Kafka
# (ctest -L cluster; needs deploy/cluster/kafka.sh up, fails without it).
#
# Makes the topics of the test prefix zzacltest. (admin), applies
# deploy/cluster/acls.txt for that prefix (kafka.sh acls), then tries every
# line of tests/cluster/acl-cases.txt with that role's client settings
# (zz-cluster-probe) and compares the broker's answer with the expected
# one. Prints one row per case and "N passed, N failed". Also fails when a
# role of acls.txt has no case, or a case gets neither answer (an error
# is not taken for a denial).
#
# Needs ZZ_SOURCE_DIR and ZZ_PROBE (set by ctest).
set -euo pipefail
cd "${ZZ_SOURCE_DIR:?}"
ZZ_COMPONENT=acl-test
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
probe=${ZZ_PROBE:?}
clients=$ZZ_STATE/cluster/clients
cases=tests/cluster/acl-cases.txt
prefix=zzacltest.
topics="identity.mca identity.mva identity.rrb identity.dpf identity.nhc identity.edu
enrollment payment control subsidy-state reconciliation allocation dead-letter
schema-catalog"
# the probe reads only the file it is given
unset ZIZHU_CONFIG ZIZHU_BOOTSTRAP ZIZHU_PG ZIZHU_TOPIC_PREFIX

if ! bash deploy/cluster/kafka.sh status; then
        echo "FAIL: the cluster's Kafka is not up: run ./zz cluster up (or deploy/cluster/kafka.sh up) first" >&2
        exit 1
fi
[[ -s $clients/admin.kafka.conf ]] || zz_die "no $clients/admin.kafka.conf: run deploy/cluster/kafka.sh up"

# the probe's diagnostics, for sanitizer reports (shown at the end)
errlog=$(mktemp)
trap 'rm -f "$errlog"' EXIT

t0=$SECONDS
for t in $topics; do
        out=$("$probe" --config "$clients/admin.kafka.conf" ensure-topic "$prefix$t" 1 2>&1) ||
                zz_die "could not create the test topic $prefix$t: $out"
done
ZZ_QUIET_ACLS=1 bash deploy/cluster/kafka.sh acls "$prefix"
# On a fresh cluster the first group commit creates __consumer_offsets
# (8 partitions x 3 replicas), which may outlast one probe's timeout: the
# admin makes it exist first (at most 90 s).
for _ in $(seq 1 9); do
        if "$probe" --config "$clients/admin.kafka.conf" commit zizhu-acl-warmup "${prefix}identity.mca" >/dev/null 2>>"$errlog"; then
                break
        fi
        sleep 1
done
# Each broker's authorizer applies new ACLs when it replays the metadata
# log: wait (at most 30 s) until a grant just made answers on every node,
# so the table does not race the propagation.
for _ in $(seq 1 30); do
        if "$probe" --config "$clients/feed-mca.kafka.conf" produce "${prefix}identity.mca" >/dev/null 2>>"$errlog"; then
                break
        fi
        sleep 1
done

# every role of the ACL table is tried at least once
missing=
for role in $(grep -v '^#' deploy/cluster/acls.txt | awk 'NF { print $1 }' | sort -u); do
        grep -q "^$role " "$cases" || missing+=" $role"
done

pass=0 fail=0
printf '%-16s %-17s %-56s %-8s %-8s %-5s %s\n' role operation target expected got result 'probe says'
while read -r role op rest; do
        [[ -z $role || $role == \#* ]] && continue
        read -ra args <<<"${rest//\{P\}/$prefix}"
        expect=${args[-1]}
        unset 'args[-1]'
        [[ $expect == allowed || $expect == denied ]] || zz_die "$cases: bad expectation '$expect' for $role $op"
        conf=$clients/$role.kafka.conf
        [[ -s $conf ]] || zz_die "no client settings for the role $role ($conf)"
        rc=0
        out=$("$probe" --config "$conf" "$op" "${args[@]}" 2>>"$errlog") || rc=$?
        case $rc in
        0) got=allowed ;;
        1) got=denied ;;
        *) got=error ;;
        esac
        if [[ $got == "$expect" ]]; then
                res=PASS
                pass=$((pass + 1))
        else
                res=FAIL
                fail=$((fail + 1))
        fi
        printf '%-16s %-17s %-56s %-8s %-8s %-5s %s\n' "$role" "$op" "${args[*]}" "$expect" "$got" "$res" "$out"
done <"$cases"

if [[ -n $missing ]]; then
        echo "FAIL: roles of deploy/cluster/acls.txt without a case in $cases:$missing"
        fail=$((fail + 1))
fi
echo "acl cases took $((SECONDS - t0)) s"
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$errlog" 2>/dev/null; then
        grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$errlog"
        echo "FAIL: sanitizer reports from zz-cluster-probe (above)"
        fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
((fail == 0))
