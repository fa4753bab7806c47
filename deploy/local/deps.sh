#!/usr/bin/env bash
# Install every Debian package the project needs, if missing. Idempotent: a
# second run only queries dpkg and prints one line.
#
#   deploy/local/deps.sh
#
# Runs as root (CI and the dev machines are root); uses sudo otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=deps
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

PACKAGES=(
        build-essential cmake pkg-config
        librdkafka-dev libavro-dev libpq-dev libcriterion-dev libjansson-dev
        libyaml-dev libcsv-dev libssl-dev libmicrohttpd-dev
        postgresql-15 postgresql-client-15
        kcat valgrind clang-format
        clang libclang-rt-14-dev  # tests/fuzz: libFuzzer and the sanitizer runtimes
        openjdk-17-jre-headless maven
        curl iproute2 procps time
        openssl nftables  # deploy/cluster: the CA and certificates, slow/lossy links
        chromium fonts-wqy-zenhei  # the report screenshot check (test_report), CJK glyphs
)

missing=()
for p in "${PACKAGES[@]}"; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $st == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
        zz_log "all ${#PACKAGES[@]} packages present"
        exit 0
fi

SUDO=()
if ((EUID != 0)); then
        command -v sudo >/dev/null || zz_die "not root and no sudo: cannot install ${missing[*]}"
        SUDO=(sudo)
fi

zz_log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
zz_log "installed ${#missing[@]} package(s) in $((SECONDS - t0)) s"
