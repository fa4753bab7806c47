#!/usr/bin/env bash
# No schema was edited in place: every writer schema that any commit of the
# history had in schemas/ (its fingerprint) is still there today, as the
# current file or a .vN file. Messages carry their writer's fingerprint for
# ever, so a schema changed without keeping the old one as <stream>.vN.avsc
# leaves its messages undecodable and escapes the compatibility check
# (compat.sh compares only the files that exist). Fingerprints by Apache
# Avro's SchemaNormalization (compat.sh fingerprints). Run by ctest
# (schema_history, label unit).
#
#   tools/avro-compat/history.sh
#
# Exit status: 0 every historical fingerprint is kept (or there is no git
# history here: said so), 1 one is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=schema-history
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

zz_need git
if ! git rev-parse --git-dir >/dev/null 2>&1; then
        echo "schema history: not a git checkout, nothing to check"
        exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
commits=$(git log --format=%H -- 'schemas/*.avsc')
if git rev-parse --is-shallow-repository 2>/dev/null | grep -qx true; then
        zz_warn "shallow clone: only the commits present are checked"
fi
files=()
for c in $commits; do
        mkdir -p "$tmp/$c"
        while IFS= read -r f; do
                git show "$c:$f" >"$tmp/$c/$(basename "$f")"
                files+=("$tmp/$c/$(basename "$f")")
        done < <(git ls-tree --name-only "$c" -- schemas/ | grep '\.avsc$')
done
tools/avro-compat/compat.sh fingerprints schemas/*.avsc >"$tmp/now.txt"
if ((${#files[@]} > 0)); then
        tools/avro-compat/compat.sh fingerprints "${files[@]}" >"$tmp/then.txt"
else
        : >"$tmp/then.txt"
fi
fail=0
declare -A seen=()
while read -r fp path; do
        [[ -z ${seen[$fp]:-} ]] || continue
        seen[$fp]=1
        if ! grep -q "^$fp " "$tmp/now.txt"; then
                c=${path#"$tmp"/}
                echo "FAIL: schemas/$(basename "$path") at commit ${c%%/*} had fingerprint $fp, which no file in schemas/ has now (the newest commit with it shown): keep that version as <stream>.vN.avsc"
                fail=1
        fi
done <"$tmp/then.txt"
((fail == 0)) || exit 1
echo "schema history: the $(cut -d' ' -f1 "$tmp/then.txt" | sort -u | wc -l) writer schemas of $(echo "$commits" | grep -c . || true) commits are all kept ($(wc -l <"$tmp/now.txt") files now)"
