# shellcheck shell=bash disable=SC2034
# Shared helpers for the local dev stack scripts (sourced, not run).
#
# Every script here does `cd "$(dirname "$0")/../.."` first, so ZZ_ROOT is the
# repository root and all state lives under $ZZ_ROOT/.zz (git-ignored).

ZZ_ROOT=$(pwd -P)
ZZ_STATE=$ZZ_ROOT/.zz
ZZ_LOCAL=$ZZ_ROOT/deploy/local

# The stack's state holds personal data (Kafka's log has every full ID
# number): everything the scripts and the services they start create is
# private to its user (0700 directories, 0600 files).
umask 077

# zz_private DIR...: create DIR if missing and take group and other access
# away from it and everything in it (state left by an older, 022 checkout).
zz_private() {
        mkdir -p "$@"
        chmod -R go-rwx "$@"
}

# Fixed dev ports, chosen away from the defaults so a system Kafka or
# PostgreSQL on the same box does not clash.
# ZIZHU_KAFKA_PORT, ZIZHU_KAFKA_CONTROLLER_PORT and ZIZHU_PG_PORT override them
# (e.g. to run a second checkout's stack beside this one).
ZZ_KAFKA_HOST=127.0.0.1
ZZ_KAFKA_PORT=${ZIZHU_KAFKA_PORT:-19092}
ZZ_KAFKA_CONTROLLER_PORT=${ZIZHU_KAFKA_CONTROLLER_PORT:-19093}
ZZ_KAFKA_BOOTSTRAP=$ZZ_KAFKA_HOST:$ZZ_KAFKA_PORT
ZZ_PG_HOST=127.0.0.1
ZZ_PG_PORT=${ZIZHU_PG_PORT:-15432}

# Short, stable id of this checkout, for paths that must live outside it.
ZZ_HASH=$(printf '%s' "$ZZ_ROOT" | sha1sum | cut -c1-10)

zz_log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${ZZ_COMPONENT:-zz}" "$*"; }
zz_warn() { printf '[%s %s] warning: %s\n' "$(date +%H:%M:%S)" "${ZZ_COMPONENT:-zz}" "$*" >&2; }
zz_die() {
        printf '[%s %s] error: %s\n' "$(date +%H:%M:%S)" "${ZZ_COMPONENT:-zz}" "$*" >&2
        exit 1
}

zz_need() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 ||
                        zz_die "$c not found: run deploy/local/deps.sh first"
        done
}

# zz_pick_java: sets JAVA for the Java services (Kafka 3.9: Java 11-23;
# Apicurio 3.0: 17): $ZIZHU_JAVA, else Debian's 17 over whatever is on PATH.
zz_pick_java() {
        if [[ -n ${ZIZHU_JAVA:-} ]]; then
                JAVA=$ZIZHU_JAVA
                return
        fi
        local j
        for j in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
                if [[ -x $j ]]; then
                        JAVA=$j
                        return
                fi
        done
        zz_need java
        JAVA=java
}

# zz_pid_alive PID [PATTERN]: the process exists, is not a zombie (and its command line
# contains PATTERN, which guards against a recycled pid).
zz_pid_alive() {
        local pid=$1 pat=${2:-}
        [[ -n $pid && $pid =~ ^[0-9]+$ ]] || return 1
        kill -0 "$pid" 2>/dev/null || return 1
        # a zombie (killed, not yet reaped by init) is not alive
        [[ $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) != Z ]] || return 1
        [[ -z $pat ]] && return 0
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pat"
}

# zz_port_busy PORT: something listens on 127.0.0.1:PORT (or on any address).
zz_port_busy() {
        ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .
}

# zz_wait_gone PID SECONDS: wait until PID is gone or reaped (a zombie still
# holds its pid, and PostgreSQL's lock file check sees it as alive).
zz_wait_gone() {
        local pid=$1 n=$(($2 * 5))
        while ((n-- > 0)) && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
        ! kill -0 "$pid" 2>/dev/null
}

# zz_lock FILE: hold an exclusive lock on FILE until the script exits, so two
# concurrent up/down runs on one checkout do not race.
zz_lock() {
        mkdir -p "$(dirname "$1")"
        exec 9>"$1"
        if ! flock -n 9; then
                zz_log "waiting for another run holding $1"
                flock -w 180 9 || zz_die "timed out waiting for $1"
        fi
}
