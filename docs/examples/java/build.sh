#!/usr/bin/env bash
# Builds the Java consumer example (docs/consumers.md) with Maven into
# .zz/cache/java-consumer (again when the pom or the source changes) and
# prints the class path to run it with:
#
#   java -cp "$(docs/examples/java/build.sh)" cn.zizhu.examples.ZizhuRead BOOTSTRAP PREFIX SCHEMA_DIR
#
# Environment: ZIZHU_MVN_ARGS (extra mvn arguments).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ZZ_COMPONENT=java-example
# shellcheck source=deploy/local/lib.sh
. deploy/local/lib.sh

SRC=$ZZ_ROOT/docs/examples/java
OUT=$ZZ_STATE/cache/java-consumer
sum=$(cat "$SRC/pom.xml" "$SRC"/src/main/java/cn/zizhu/examples/*.java | sha1sum | cut -d' ' -f1)
zz_private "$ZZ_STATE/cache"
exec 9>"$ZZ_STATE/cache/java-consumer.lock"
flock 9
if [[ ! -f $OUT/.complete || $(cat "$OUT/.complete") != "$sum" ]]; then
        zz_need mvn
        zz_need javac
        rm -rf "$OUT"
        mkdir -p "$OUT"
        zz_log "building the Java consumer example with Maven into ${OUT#"$ZZ_ROOT"/}" >&2
        cp -r "$SRC/pom.xml" "$SRC/src" "$OUT/"
        # shellcheck disable=SC2086
        if ! (cd "$OUT" && mvn -q -B -Dstyle.color=never ${ZIZHU_MVN_ARGS:-} package \
                dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$OUT/lib" \
                >"$OUT/mvn.log" 2>&1); then
                tail -n 40 "$OUT/mvn.log" >&2
                zz_die "maven could not build the example (log: ${OUT#"$ZZ_ROOT"/}/mvn.log)"
        fi
        echo "$sum" >"$OUT/.complete"
fi
echo "$OUT/target/zizhu-read-example-1.jar:$OUT/lib/*"
