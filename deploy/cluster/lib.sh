# shellcheck shell=bash disable=SC2034
# Shared helpers of the cluster scripts (sourced after deploy/local/lib.sh).
#
# The cluster runs on this one machine, each node in its own network
# namespace, all of them on one bridge:
#
#   bridge zzc0            10.77.0.1/24   (the host: clients, tests)
#   namespace zzc-k1       10.77.0.11     Kafka node 1 (broker + controller)
#   namespace zzc-k2       10.77.0.12     Kafka node 2
#   namespace zzc-k3       10.77.0.13     Kafka node 3
#   namespace zzc-pg1      10.77.0.21     PostgreSQL primary
#   namespace zzc-pg2      10.77.0.22     PostgreSQL standby
#   namespace zzc-w1/w2    10.77.0.31/32  worker hosts (tests run programs there)
#
# so a test can cut one node's link (net.sh cut k2) or slow it (net.sh slow
# w1 delay 100ms 20ms loss 5%). ZIZHU_CLUSTER_NET=10.88.0 moves the subnet.
# Where namespaces cannot be made (not root, no `ip netns`), every node
# listens on 127.0.0.1 with ports of its own instead; net.sh says so loudly
# and cut/slow are refused (exit 3), since they need a link to act on.

ZZC_STATE=$ZZ_STATE/cluster
ZZC_NET=${ZIZHU_CLUSTER_NET:-10.77.0}
ZZC_BRIDGE=zzc0
ZZC_NODES="k1 k2 k3 pg1 pg2 w1 w2"
ZZC_MODE_FILE=$ZZC_STATE/net.mode
ZZC_CA=$ZZC_STATE/ca
ZZC_SECRETS=$ZZC_STATE/secrets

zzc_octet() { # zzc_octet NODE: the last octet of NODE's address
        case $1 in
        k1) echo 11 ;; k2) echo 12 ;; k3) echo 13 ;;
        pg1) echo 21 ;; pg2) echo 22 ;;
        w1) echo 31 ;; w2) echo 32 ;;
        *) zz_die "unknown cluster node '$1' (nodes: $ZZC_NODES)" ;;
        esac
}

# zzc_mode: "netns" or "loopback" (what net.sh up made; netns when unknown).
zzc_mode() {
        if [[ -r $ZZC_MODE_FILE ]]; then cat "$ZZC_MODE_FILE"; else echo netns; fi
}

# zzc_addr NODE: the address NODE's services listen on and clients dial.
zzc_addr() {
        local o
        o=$(zzc_octet "$1") || return 1
        if [[ $(zzc_mode) == loopback ]]; then echo 127.0.0.1; else echo "$ZZC_NET.$o"; fi
}

# zzc_port NODE BASE: BASE in netns mode (every node has its own address);
# BASE + 100 * octet on loopback, where all nodes share 127.0.0.1.
zzc_port() {
        local o
        o=$(zzc_octet "$1") || return 1
        if [[ $(zzc_mode) == loopback ]]; then echo $(($2 + 100 * o)); else echo "$2"; fi
}

zzc_ns() { echo "zzc-$1"; }

# zzc_exec NODE CMD...: run CMD on NODE's "host" (inside its namespace).
zzc_exec() {
        local node=$1
        shift
        if [[ $(zzc_mode) == loopback ]]; then
                "$@"
        else
                ip netns exec "$(zzc_ns "$node")" "$@"
        fi
}

# zzc_secret NAME: the path of a generated secret (created on first use,
# 0600, 32 hex characters). Secrets live in files, never on command lines.
zzc_secret() {
        local f=$ZZC_SECRETS/$1
        if [[ ! -s $f ]]; then
                zz_private "$ZZC_SECRETS"
                openssl rand -hex 16 >"$f.new" && mv "$f.new" "$f"
        fi
        echo "$f"
}
