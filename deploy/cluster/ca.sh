#!/usr/bin/env bash
# The cluster's certificate authority and the certificates of its nodes.
#
#   deploy/cluster/ca.sh init                  make the CA once (.zz/cluster/ca/ca.crt, ca.key)
#   deploy/cluster/ca.sh server NAME NODE      a server certificate for NODE's address:
#                                              NAME.crt (chain: leaf + CA), NAME.key (PKCS#8,
#                                              unencrypted, 0600), NAME.p12 (PKCS#12, password in
#                                              the secret file NAME.p12.password)
#   deploy/cluster/ca.sh other                 a second, unrelated CA (other-ca.crt) and a server
#                                              certificate from it, for the "untrusted CA" tests
#
# Subject alternative names: NODE's IP address and the DNS name NODE.zz.cluster
# (libpq's sslmode=verify-full and librdkafka's endpoint identification check
# them; clients dial the address). Everything is 0600 in a 0700 directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=ca
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh
# shellcheck source=deploy/cluster/lib.sh
. deploy/cluster/lib.sh
zz_need openssl

DAYS=825

init() {
        zz_private "$ZZC_CA"
        [[ -s $ZZC_CA/ca.crt && -s $ZZC_CA/ca.key ]] && return 0
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
                -keyout "$ZZC_CA/ca.key" -out "$ZZC_CA/ca.crt" \
                -subj "/O=zizhu cluster/CN=zizhu cluster CA" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        zz_log "made the cluster CA $ZZC_CA/ca.crt"
}

# sign CA_DIR CA_NAME NAME IP DNS: NAME.{key,crt,p12} in CA_DIR
sign() {
        local dir=$1 ca=$2 name=$3 ip=$4 dns=$5 ext pw
        ext=$(mktemp)
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:%s,DNS:%s\n' \
                "$ip" "$dns" >"$ext"
        openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$dir/$name.key" \
                -out "$dir/$name.csr" -subj "/O=zizhu cluster/CN=$dns" 2>/dev/null
        openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
                -CAcreateserial -days "$DAYS" -sha256 -extfile "$ext" -out "$dir/$name.leaf.crt" 2>/dev/null
        cat "$dir/$name.leaf.crt" "$dir/$ca.crt" >"$dir/$name.crt"
        rm -f "$ext" "$dir/$name.csr" "$dir/$name.leaf.crt"
        pw=$(zzc_secret "$name.p12.password")
        openssl pkcs12 -export -in "$dir/$name.crt" -inkey "$dir/$name.key" -name "$name" \
                -passout "file:$pw" -out "$dir/$name.p12"
}

server() {
        local name=${1:?usage: ca.sh server NAME NODE} node=${2:?usage: ca.sh server NAME NODE}
        init
        [[ -s $ZZC_CA/$name.crt && -s $ZZC_CA/$name.key ]] && return 0
        sign "$ZZC_CA" ca "$name" "$(zzc_addr "$node")" "$node.zz.cluster"
        zz_log "made the certificate $ZZC_CA/$name.crt for $node ($(zzc_addr "$node"))"
}

other() {
        local dir=$ZZC_CA/other
        zz_private "$dir"
        if [[ ! -s $dir/other-ca.crt ]]; then
                openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
                        -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt" \
                        -subj "/O=not zizhu/CN=an unrelated CA" \
                        -addext "basicConstraints=critical,CA:TRUE" \
                        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
                sign "$dir" other-ca impostor 127.0.0.1 impostor.zz.cluster
        fi
        echo "$dir/other-ca.crt"
}

case ${1:-} in
init) init ;;
server) shift; server "$@" ;;
other) other ;;
*)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
