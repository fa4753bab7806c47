#!/usr/bin/env bash
# The cluster's network: one namespace per node on a bridge (see lib.sh).
#
#   deploy/cluster/net.sh up              make the bridge and the namespaces (idempotent)
#   deploy/cluster/net.sh down            remove them
#   deploy/cluster/net.sh status          what exists (exit 0 if up, 3 if not)
#   deploy/cluster/net.sh cut NODE        take NODE's link down: it reaches nobody, nobody reaches it
#   deploy/cluster/net.sh heal NODE       bring it back
#   deploy/cluster/net.sh slow NODE ARGS  tc netem on NODE's link, e.g. `slow w1 delay 100ms 20ms loss 5%`
#                                         (without sch_netem: only `loss P%` and `rate R`, see slow())
#   deploy/cluster/net.sh unslow NODE     remove the netem qdisc
#   deploy/cluster/net.sh addr NODE       print NODE's address
#
# Without root or `ip netns` it falls back to loopback (every node on
# 127.0.0.1, ports of its own), says so loudly, and refuses cut/slow (exit 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=net
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
# shellcheck source=deploy/cluster/lib.sh
. deploy/cluster/lib.sh

host_if() { echo "zzc-$1h"; } # the host side of NODE's veth (<= 15 characters)

can_netns() {
        [[ $(id -u) == 0 ]] && command -v ip >/dev/null 2>&1 || return 1
        ip netns add zzc-probe 2>/dev/null || return 1
        ip netns del zzc-probe
}

node_up() {
        local node=$1 ns h
        ns=$(zzc_ns "$node")
        h=$(host_if "$node")
        ip netns list | grep -qw "^$ns" || ip netns add "$ns"
        ip -n "$ns" link set lo up
        if ! ip link show "$h" >/dev/null 2>&1; then
                ip link add "$h" type veth peer name eth0 netns "$ns"
        fi
        ip link set "$h" master "$ZZC_BRIDGE"
        ip link set "$h" up
        ip -n "$ns" addr replace "$ZZC_NET.$(zzc_octet "$node")/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" route replace default via "$ZZC_NET.1" 2>/dev/null || true
}

up() {
        zz_private "$ZZC_STATE"
        if ! can_netns; then
                echo loopback >"$ZZC_MODE_FILE"
                zz_warn "*** cannot make network namespaces here (root and iproute2 needed) ***"
                zz_warn "*** the cluster falls back to loopback: every node on 127.0.0.1, ports of its own; ***"
                zz_warn "*** cutting or slowing one node's link is NOT possible in this mode ***"
                return 0
        fi
        if ! ip link show "$ZZC_BRIDGE" >/dev/null 2>&1; then
                ip link add "$ZZC_BRIDGE" type bridge
        fi
        ip addr replace "$ZZC_NET.1/24" dev "$ZZC_BRIDGE"
        ip link set "$ZZC_BRIDGE" up
        local node
        for node in $ZZC_NODES; do node_up "$node"; done
        echo netns >"$ZZC_MODE_FILE"
        zz_log "network up: bridge $ZZC_BRIDGE $ZZC_NET.1/24, namespaces $(for n in $ZZC_NODES; do printf '%s ' "$(zzc_ns "$n")"; done)"
}

down() {
        local node
        if [[ $(zzc_mode) == netns ]]; then
                for node in $ZZC_NODES; do
                        ip link del "$(host_if "$node")" 2>/dev/null || true
                        ip netns del "$(zzc_ns "$node")" 2>/dev/null || true
                done
                ip link del "$ZZC_BRIDGE" 2>/dev/null || true
        fi
        rm -f "$ZZC_MODE_FILE"
        zz_log "network down"
}

status() {
        if [[ ! -r $ZZC_MODE_FILE ]]; then
                echo "network down"
                return 3
        fi
        if [[ $(zzc_mode) == loopback ]]; then
                echo "network loopback (no namespaces: cut/slow unavailable)"
                return 0
        fi
        local node h state q rc=0
        printf '%-5s %-9s %-13s %-5s %s\n' NODE NAMESPACE ADDRESS LINK QDISC
        for node in $ZZC_NODES; do
                h=$(host_if "$node")
                if ip link show "$h" >/dev/null 2>&1; then
                        state=$(ip -br link show "$h" | awk '{print $2}')
                        q=$(tc qdisc show dev "$h" | grep -o 'netem.*' || echo -)
                else
                        state=missing q=-
                        rc=3
                fi
                printf '%-5s %-9s %-13s %-5s %s\n' "$node" "$(zzc_ns "$node")" "$ZZC_NET.$(zzc_octet "$node")" "$state" "$q"
        done
        return $rc
}

# slow NODE NETEM-ARGS: netem on both directions of NODE's link. A kernel
# without sch_netem (this one has tbf and nftables, not netem) gets what can
# be had without it, said loudly: "loss P%" as a random drop in nftables
# inside the namespace, "rate R" as a token bucket (tbf) on both ends; a
# delay or jitter cannot be made there and is refused (exit 3).
slow() {
        local node=$1 ns h
        shift
        ns=$(zzc_ns "$node")
        h=$(host_if "$node")
        if tc qdisc replace dev "$h" root netem "$@" 2>/dev/null; then
                ip netns exec "$ns" tc qdisc replace dev eth0 root netem "$@"
                zz_log "slowed $node: netem $*"
                return 0
        fi
        zz_warn "*** this kernel has no netem qdisc: emulating '$*' with nftables and tbf ***"
        local loss="" rate=""
        while [[ $# -gt 0 ]]; do
                case $1 in
                loss) loss=${2%\%}; shift 2 ;;
                rate) rate=$2; shift 2 ;;
                *) zz_warn "'$1' needs netem, which this kernel lacks"; exit 3 ;;
                esac
        done
        if [[ -n $loss ]]; then
                ip netns exec "$ns" nft -f - <<NFT
table inet zzc_slow
delete table inet zzc_slow
table inet zzc_slow {
        chain in { type filter hook input priority 0; numgen random mod 100 < $loss drop; }
        chain out { type filter hook output priority 0; numgen random mod 100 < $loss drop; }
}
NFT
        fi
        if [[ -n $rate ]]; then
                tc qdisc replace dev "$h" root tbf rate "$rate" burst 32kbit latency 400ms
                ip netns exec "$ns" tc qdisc replace dev eth0 root tbf rate "$rate" burst 32kbit latency 400ms
        fi
        zz_log "slowed $node:${loss:+ loss $loss% (nftables)}${rate:+ rate $rate (tbf)}"
}

unslow() {
        tc qdisc del dev "$(host_if "$1")" root 2>/dev/null || true
        ip netns exec "$(zzc_ns "$1")" tc qdisc del dev eth0 root 2>/dev/null || true
        ip netns exec "$(zzc_ns "$1")" nft delete table inet zzc_slow 2>/dev/null || true
        zz_log "unslowed $1"
}

need_links() {
        [[ $(zzc_mode) == netns ]] || {
                zz_warn "the cluster runs on loopback: there is no link of $1 to act on"
                exit 3
        }
        zzc_octet "$1" >/dev/null
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
up) up ;;
down) down ;;
status) status ;;
addr) zzc_addr "${1:?usage: net.sh addr NODE}" ;;
cut)
        need_links "${1:?usage: net.sh cut NODE}"
        ip link set "$(host_if "$1")" down
        zz_log "cut $1 off (link down)"
        ;;
heal)
        need_links "${1:?usage: net.sh heal NODE}"
        ip link set "$(host_if "$1")" up
        zz_log "healed $1 (link up)"
        ;;
slow)
        node=${1:?usage: net.sh slow NODE NETEM-ARGS}
        shift
        need_links "$node"
        [[ $# -gt 0 ]] || zz_die "usage: net.sh slow NODE NETEM-ARGS (e.g. delay 100ms 20ms loss 5%)"
        slow "$node" "$@"
        ;;
unslow)
        need_links "${1:?usage: net.sh unslow NODE}"
        unslow "$1"
        ;;
*)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
