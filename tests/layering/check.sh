#!/usr/bin/env bash
# check.sh LAYER PROBE.c — configures a scratch build with PROBE.c added to
# LAYER (core/CMakeLists.txt's ZZ_LAYER_PROBE hook) and builds that layer's
# check. Passes when the build FAILS with a message naming the forbidden
# library: the layering is enforced by the build, not by review. Also
# builds the same layer without the probe first, so a failure for any
# other reason is not taken for a pass.
set -uo pipefail
layer=$1 probe=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/zz-layer-$layer.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cmake -S "$src" -B "$dir/clean" -DBUILD_TESTING=OFF >"$dir/clean.log" 2>&1 &&
        cmake --build "$dir/clean" --target "zz_layer_check_$layer" >>"$dir/clean.log" 2>&1 ||
        { cat "$dir/clean.log"; echo "FAIL: layer $layer does not build even without the probe"; exit 1; }
cmake -S "$src" -B "$dir/probe" -DBUILD_TESTING=OFF \
        "-DZZ_LAYER_PROBE=$layer:$probe" >"$dir/probe.log" 2>&1 || {
        cat "$dir/probe.log"; echo "FAIL: configure failed"; exit 1; }
if cmake --build "$dir/probe" --target "zz_layer_check_$layer" >>"$dir/probe.log" 2>&1; then
        echo "FAIL: layer $layer built with $(basename "$probe") in it: the forbidden dependency was not caught"
        exit 1
fi
grep -E "libpq-fe.h: No such file|undefined reference to \`(PQ|rd_kafka)" "$dir/probe.log" | head -3
if ! grep -qE "libpq-fe.h: No such file|undefined reference to \`(PQ|rd_kafka)" "$dir/probe.log"; then
        tail -20 "$dir/probe.log"; echo "FAIL: the build failed, but not on the probe"; exit 1
fi
echo "ok: layer $layer refuses $(basename "$probe")"
