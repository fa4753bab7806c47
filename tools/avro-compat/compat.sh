#!/usr/bin/env bash
# Schema compatibility as Apache Avro judges it (tools/avro-compat/).
#
#   tools/avro-compat/compat.sh [SCHEMA_DIR [RULES_FILE]]
#                                   build the checker if needed, then check
#                                   (default: schemas/ and schemas/compatibility.txt)
#   tools/avro-compat/compat.sh build   only build it
#   tools/avro-compat/compat.sh fingerprints FILE...
#                                   "<fingerprint hex> <file>" per schema file
#
# The checker is a small Java program (AvroCompat.java) on
# org.apache.avro.SchemaCompatibility, built with Maven from Maven Central
# into .zz/cache/avro-compat (its jar and its dependencies' jars); rebuilt
# when the pom or the source changes. Output: one Markdown row per stream
# and previous version; exit 0 when every rule of the rules file holds,
# 1 when one is broken, 2 on a usage or file error.
#
# Environment: ZIZHU_JAVA (java binary), ZIZHU_MVN_ARGS (extra mvn arguments).
set -euo pipefail
cd "$(dirname "$0")/../.."
ZZ_COMPONENT=avro-compat
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

SRC=$ZZ_ROOT/tools/avro-compat
OUT=$ZZ_STATE/cache/avro-compat
JAVA=${ZIZHU_JAVA:-java}

build() {
        local sum
        sum=$(cat "$SRC/pom.xml" "$SRC"/src/main/java/cn/zizhu/tools/*.java | sha1sum | cut -d' ' -f1)
        if [[ -f $OUT/.complete && $(cat "$OUT/.complete") == "$sum" ]]; then
                return 0
        fi
        zz_need mvn
        zz_need javac
        zz_private "$ZZ_STATE/cache"
        # ctest may start several checks at once: one build at a time.
        exec 9>"$ZZ_STATE/cache/avro-compat.lock"
        flock 9
        if [[ -f $OUT/.complete && $(cat "$OUT/.complete") == "$sum" ]]; then
                return 0
        fi
        rm -rf "$OUT"
        mkdir -p "$OUT"
        zz_log "building the Avro compatibility checker with Maven into ${OUT#"$ZZ_ROOT"/}"
        # Maven writes target/ beside the pom: build from a copy so the tree stays clean.
        cp -r "$SRC/pom.xml" "$SRC/src" "$OUT/"
        # shellcheck disable=SC2086
        if ! (cd "$OUT" && mvn -q -B -Dstyle.color=never ${ZIZHU_MVN_ARGS:-} package \
                dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$OUT/lib" \
                >"$OUT/mvn.log" 2>&1); then
                tail -n 40 "$OUT/mvn.log" >&2
                zz_die "maven could not build the checker (log: ${OUT#"$ZZ_ROOT"/}/mvn.log)"
        fi
        [[ -f $OUT/target/zizhu-avro-compat-1.jar ]] || zz_die "no jar after the build in $OUT/target"
        echo "$sum" >"$OUT/.complete"
}

run() { exec "$JAVA" -cp "$OUT/target/zizhu-avro-compat-1.jar:$OUT/lib/*" cn.zizhu.tools.AvroCompat "$@"; }

case ${1:-} in
build)
        build
        ;;
fingerprints)
        shift
        build
        run --fingerprints "$@"
        ;;
*)
        build
        dir=${1:-$ZZ_ROOT/schemas}
        rules=${2:-$dir/compatibility.txt}
        run "$dir" "$rules"
        ;;
esac
