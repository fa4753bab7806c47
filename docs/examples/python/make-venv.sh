#!/usr/bin/env bash
# The Python environment of the consumer example (docs/consumers.md):
# confluent-kafka and fastavro from PyPI in a venv under .zz/cache, made
# once and again when requirements.txt changes. Prints the venv's python.
#
#   docs/examples/python/make-venv.sh
#
# Environment: ZIZHU_PYTHON (default /usr/bin/python3, Debian's; any 3.9+).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ZZ_COMPONENT=py-venv
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

REQ=$ZZ_ROOT/docs/examples/python/requirements.txt
VENV=$ZZ_STATE/cache/venv-consumers
PY=${ZIZHU_PYTHON:-/usr/bin/python3}
[[ -x $PY ]] || PY=$(command -v python3) || zz_die "no python3"

zz_private "$ZZ_STATE/cache"
exec 9>"$ZZ_STATE/cache/venv-consumers.lock"
flock 9
sum=$(sha1sum <"$REQ" | cut -d' ' -f1)
if [[ ! -f $VENV/.complete || $(cat "$VENV/.complete") != "$sum" ]]; then
        zz_log "making the Python venv ${VENV#"$ZZ_ROOT"/} ($(sed -n '/^[a-z]/p' "$REQ" | tr '\n' ' '))" >&2
        rm -rf "$VENV"
        "$PY" -m venv "$VENV" >&2
        if ! "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >"$ZZ_STATE/cache/venv-consumers.log" 2>&1; then
                tail -n 30 "$ZZ_STATE/cache/venv-consumers.log" >&2
                zz_die "pip could not install $REQ"
        fi
        echo "$sum" >"$VENV/.complete"
fi
echo "$VENV/bin/python"
