#!/bin/sh
# units.sh — checks the systemd units of deploy/systemd/ (run by
# tests/integration/test_systemd.c).
#
#   units.sh verify        systemd-analyze verify of every unit, its
#                          ExecStart pointed at the built binary; any
#                          message fails. Also: every file the units name
#                          under /etc/zizhu has an example, and every
#                          example configuration loads.
#   units.sh start UNIT ENVFILE CONF [extra args...]
#                          runs UNIT's ExecStart= with exactly the argv and
#                          environment systemd would give it: the variables
#                          of ENVFILE (the example, with the test's
#                          ZIZHU_BOOTSTRAP, ZIZHU_PG, ZIZHU_TOPIC_PREFIX,
#                          ZZ_GROUP, ZZ_SUBSIDY_GROUP, ZZ_POLICIES), the
#                          unit's Environment= lines, CREDENTIALS_DIRECTORY
#                          and PATH; %d is a directory holding CONF as
#                          zizhu.conf and an empty pgpass (the test stack
#                          trusts), or the file ZZ_UNITS_PGPASS names (the
#                          cluster's). CONF is an example's name (its
#                          SASL_SSL keys left out: the stack is
#                          PLAINTEXT) or an absolute path (used as it is).
#                          Extra args are appended (--idle-exit).
#                          Exits with the program's status.
# Needs ZZ_SOURCE_DIR and ZZ_BIN_DIR.
set -eu
src=${ZZ_SOURCE_DIR:?}
bin=${ZZ_BIN_DIR:?}
units=$src/deploy/systemd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The unit with /usr/local/bin/ replaced by the build's program directory.
built_unit() {
        sed -e "s|^ExecStart=/usr/local/bin/zizhu-|ExecStart=$bin/consumers/zizhu-|" "$1"
}

verify() {
        fail=0
        for u in "$units"/*.service; do
                name=$(basename "$u")
                built_unit "$u" >"$tmp/$name"
                if ! systemd-analyze verify --man=no "$tmp/$name" \
                        >"$tmp/out" 2>&1 || [ -s "$tmp/out" ]; then
                        echo "verify $name:" >&2
                        cat "$tmp/out" >&2
                        fail=1
                fi
                base=${name%.service}
                inst=$(echo "$base" | sed 's/@$/@1/')
                for f in $(sed -n -e 's/^EnvironmentFile=-\{0,1\}//p' \
                        -e 's/^LoadCredential=[^:]*://p' "$u"); do
                        f=$(echo "$f" | sed "s|%N|$inst|")
                        if [ ! -f "$units/examples/$(basename "$f")" ]; then
                                echo "$name: no example for $f" >&2
                                fail=1
                        fi
                done
        done
        # Every example configuration loads as config.c reads it: exit 1
        # (PostgreSQL is a closed port), not 2; one with a pseudonym_key
        # placeholder is refused with 2.
        for c in "$units"/examples/*.conf; do
                want=1
                grep -q '^pseudonym_key = <replace>$' "$c" && want=2
                rc=0
                env -u ZIZHU_PG -u ZIZHU_PSEUDONYM_KEY "$bin/cli/zizhu" migrate \
                        --config "$c" --dir "$src/sql" \
                        -X pg='host=127.0.0.1 port=1 dbname=x connect_timeout=1' \
                        >"$tmp/out" 2>&1 || rc=$?
                if [ $rc -ne $want ]; then
                        echo "$(basename "$c"): exit $rc, not $want:" >&2
                        cat "$tmp/out" >&2
                        fail=1
                fi
        done
        return $fail
}

# value KEY FILE: the value of KEY= in an environment file, quotes removed
value() {
        sed -n "s/^$1=//p" "$2" | tail -n 1 | sed 's/^"\(.*\)"$/\1/'
}

start() {
        unit=$units/$1 envsrc=$units/examples/$2 conf=$units/examples/$3
        case $3 in /*) conf=$3 ;; esac
        shift 3
        creds=$tmp/credentials
        mkdir -m 0700 "$creds"
        case $conf in
        "$units"/examples/*)
                # the dev stack is PLAINTEXT: an example's secured-cluster
                # keys (tests/cluster/units.sh runs them on the cluster)
                # are left out
                grep -Ev '^kafka\.(security\.protocol|sasl\.|ssl\.)' "$conf" >"$creds/zizhu.conf" ;;
        *) cp "$conf" "$creds/zizhu.conf" ;;
        esac
        if [ -n "${ZZ_UNITS_PGPASS:-}" ]; then
                cp "$ZZ_UNITS_PGPASS" "$creds/pgpass"
        else
                : >"$creds/pgpass"
        fi
        chmod 0400 "$creds/zizhu.conf" "$creds/pgpass"
        # the example environment file with the test's values
        sed -e "s|^ZIZHU_BOOTSTRAP=.*|ZIZHU_BOOTSTRAP=${ZIZHU_BOOTSTRAP:?}|" \
            -e "s|^ZIZHU_PG=.*|ZIZHU_PG=\"${ZIZHU_PG:?}\"|" \
            -e "s|^ZIZHU_TOPIC_PREFIX=.*|ZIZHU_TOPIC_PREFIX=${ZIZHU_TOPIC_PREFIX:?}|" \
            -e "s|^ZZ_GROUP=.*|ZZ_GROUP=${ZZ_TEST_GROUP:?}|" \
            -e "s|^ZZ_SUBSIDY_GROUP=.*|ZZ_SUBSIDY_GROUP=${ZZ_TEST_SUBSIDY_GROUP:-}|" \
            -e "s|^ZZ_POLICIES=.*|ZZ_POLICIES=$src/policies|" \
            "$envsrc" >"$tmp/env"
        base=$(basename "$unit" .service)
        inst=$(echo "$base" | sed 's/@$/@1/')
        spec="s|%d|$creds|g; s|%N|$inst|g; s|%i|1|g"
        # the environment: what systemd adds, the files, Environment=
        ne=0
        addenv() { ne=$((ne + 1)); eval "env_$ne=\$1"; }
        addenv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
        addenv CREDENTIALS_DIRECTORY="$creds"
        for k in $(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$tmp/env"); do
                addenv "$k=$(value "$k" "$tmp/env")"
        done
        for kv in $(sed -n 's/^Environment=//p' "$unit" | sed "$spec"); do
                addenv "$kv"
        done
        # sanitizer settings of the test run pass through (not the unit's)
        for k in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do
                eval "v=\${$k:-}"
                [ -z "$v" ] || addenv "$k=$v"
        done
        # the command line: ExecStart= words, ${VAR} as one word each
        line=$(built_unit "$unit" | sed -n 's/^ExecStart=//p' | sed "$spec")
        cmd="env -i"
        j=1
        while [ $j -le $ne ]; do
                cmd="$cmd \"\${env_$j}\""
                j=$((j + 1))
        done
        n=0
        set -f
        for w in $line; do
                case $w in
                \$\{*\}) k=${w#??}; k=${k%?}; w=$(value "$k" "$tmp/env") ;;
                *\$*) echo "units.sh: unsupported word $w" >&2; exit 2 ;;
                esac
                n=$((n + 1))
                eval "argv_$n=\$w"
                cmd="$cmd \"\${argv_$n}\""
        done
        set +f
        [ "${ZZ_UNITS_TRACE:-}" = "" ] || eval "printf '%s\\n' $cmd \"\$@\"" >&2
        eval "$cmd \"\$@\""
}

case ${1:-} in
verify) verify ;;
start) shift; start "$@" ;;
*) echo "usage: units.sh verify | start UNIT ENVFILE CONF [args]" >&2; exit 2 ;;
esac
