#!/usr/bin/env bash
# tests/bench/report.sh — turns the "name value" lines of one benchmark run
# (written by tests/bench/run.sh) into the table on stdout, bench.csv and
# bench.html (a self-contained page with an inline SVG bar chart).
#
#   tests/bench/report.sh VALUES OUTDIR PERSONS JURISDICTION QUICK
#
# Exit status: 0, or 1 when a row that should have a number has none.
set -euo pipefail

VALUES=$1
OUT=$2
PERSONS=$3
JURISDICTION=$4
QUICK=${5:-0}

rc=0
awk -v persons="$PERSONS" -v jur="$JURISDICTION" -v quick="$QUICK" \
        -v csv="$OUT/bench.csv" -v html="$OUT/bench.html" '
function has(k) { return (k in v) && v[k] != "" }
function num(x) { # 1234567 -> "1 234 567"
        x = sprintf("%.0f", x); s = ""
        while (length(x) > 3) { s = " " substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
        return x s
}
function mib(kb) { return sprintf("%.0f MiB", kb / 1024) }
function pct(a, b) { return (b > 0) ? sprintf("%.1f %%", 100 * a / b) : "" }
function times(a, b) { return (b > 0) ? sprintf("%.1f x", a / b) : "" }
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); return s }
# row(measure, result, value, unit, vs_kafka, vs_pg, vs_naive, note)
function row(m, r, val, unit, k, p, n, note) {
        nrows++
        M[nrows] = m; R[nrows] = r; K[nrows] = k; P[nrows] = p; N[nrows] = n; NOTE[nrows] = note
        printf "%s,%s,%s,%s,%s,%s,\"%s\"\n", m, val, unit, k, p, n, note >> csv
}
function missing(m, why) {
        row(m, "NO NUMBER", "", "", "", "", "", why)
        bad++
}
function zizhu_row(m, key) {
        if (!has(key "_events_per_s")) { missing(m, "see the log folder"); return }
        x = v[key "_events_per_s"]
        row(m, num(x) " events/s", x, "events/s",
            pct(x, v["kafka_msgs_per_s"]), pct(x, v["pg_rows_per_s"]),
            times(x, v["naive_events_per_s"]),
            sprintf("%s events caught up in %.1f s", num(v["events"]), v[key "_seconds"]))
        bar[++nbars] = m; barv[nbars] = x
}
{ v[$1] = $2 }
END {
        printf "measure,value,unit,vs_kafka_ceiling,vs_pg_ceiling,vs_naive,note\n" > csv
        if (has("engine_decisions_per_s_notrace") && has("engine_decisions_per_s_trace")) {
                x = v["engine_decisions_per_s_notrace"]
                row("policy engine", num(x) " decisions/s (" num(v["engine_decisions_per_s_trace"]) " with trace)",
                    x, "decisions/s", "", "", "",
                    sprintf("%s cases in process, one thread", num(v["engine_cases"])))
                bar[++nbars] = "policy engine (no trace)"; barv[nbars] = x
        } else missing("policy engine", "zz-bench-engine gave no number")
        if (has("kafka_msgs_per_s")) {
                x = v["kafka_msgs_per_s"]
                row("Kafka ceiling", num(x) " msgs/s", x, "msgs/s", "", "", "",
                    sprintf("%s messages, %.1f MB/s, consumer doing nothing", num(v["kafka_messages"]), v["kafka_mb_per_s"]))
                bar[++nbars] = "Kafka ceiling"; barv[nbars] = x
        } else missing("Kafka ceiling", "zz-bench-kafka-ceiling gave no number")
        if (has("pg_rows_per_s")) {
                x = v["pg_rows_per_s"]
                row("PostgreSQL ceiling", num(x) " rows/s", x, "rows/s", "", "", "",
                    sprintf("COPY of %s fact rows, one transaction", num(v["pg_rows"])))
                bar[++nbars] = "PostgreSQL ceiling"; barv[nbars] = x
        } else missing("PostgreSQL ceiling", "zz-bench-pg-copy gave no number")
        if (has("naive_events_per_s")) {
                x = v["naive_events_per_s"]
                row("naive baseline", num(x) " events/s", x, "events/s", pct(x, v["kafka_msgs_per_s"]),
                    pct(x, v["pg_rows_per_s"]), "1.0 x",
                    sprintf("one transaction per event, over %s events (%s decisions)", num(v["naive_events"]), num(v["naive_decisions"])))
                bar[++nbars] = "naive baseline"; barv[nbars] = x
        } else missing("naive baseline", "zz-bench-naive gave no number")
        if (has("worker_built")) {
                zizhu_row("zizhu, 1 worker", "w1")
                zizhu_row("zizhu, 2 workers", "w2")
        } else {
                row("zizhu, 1 worker", "not built", "", "", "", "", "", "zizhu-subsidy-worker missing")
                row("zizhu, 2 workers", "not built", "", "", "", "", "", "zizhu-subsidy-worker missing")
        }
        if (has("replay_built"))
                zizhu_row("replay", "replay")
        else
                row("replay", "not built", "", "", "", "", "", "zizhu replay missing")
        if (has("settle_built")) {
                if (has("settle_seconds"))
                        row("settlement", sprintf("%.1f s", v["settle_seconds"]), v["settle_seconds"], "s", "", "", "",
                            sprintf("%s closed over %s persons, %s lines%s", v["settle_closed"] " period(s)",
                                    num(v["settle_persons"]), num(v["settle_lines"]),
                                    has("settle_loaded") ? sprintf("; their %s facts written with COPY first in %.0f s, not timed",
                                                                   num(v["settle_load_rows"]), v["settle_load_seconds"]) : ""))
                else missing("settlement", "no period closed")
        } else
                row("settlement", "not built", "", "", "", "", "", "zizhu-settlement-worker missing")
        if (has("diff_seconds") && v["diff_persons"] > 0)
                row("policy diff", sprintf("%.1f s per million persons", v["diff_seconds"] * 1e6 / v["diff_persons"]),
                    v["diff_seconds"], "s", "", "", "",
                    sprintf("zizhu policy diff over %s persons (%s person-years changed) in %.1f s, read only%s",
                            num(v["diff_persons"]), num(v["diff_changed"]), v["diff_seconds"],
                            has("diff_rss_kb") ? ", peak RSS " mib(v["diff_rss_kb"]) : ""))
        else if (has("settle_built"))
                missing("policy diff", "no diff measured")
        mem = ""
        if (has("w1_rss_kb")) mem = mem "1 worker " mib(v["w1_rss_kb"])
        if (has("w2_rss_kb_1")) mem = mem "; 2 workers " mib(v["w2_rss_kb_1"]) " + " mib(v["w2_rss_kb_2"])
        if (has("replay_rss_kb")) mem = mem "; replay " mib(v["replay_rss_kb"])
        if (has("settle_rss_kb")) mem = mem "; settlement " mib(v["settle_rss_kb"])
        if (has("worker_built") && !has("w1_rss_kb")) missing("memory", "no peak RSS recorded")
        else if (mem != "") row("memory (peak RSS)", mem, v["w1_rss_kb"], "KiB (1 worker)", "", "", "", "/usr/bin/time, maximum resident set")
        else row("memory (peak RSS)", "not built", "", "", "", "", "", "no worker")

        # The table, aligned, on stdout.
        H[1] = "measure"; H[2] = "result"; H[3] = "vs Kafka ceiling"; H[4] = "vs PG ceiling"; H[5] = "vs naive"; H[6] = "note"
        for (c = 1; c <= 6; c++) W[c] = length(H[c])
        for (i = 1; i <= nrows; i++) {
                C[i, 1] = M[i]; C[i, 2] = R[i]; C[i, 3] = K[i]; C[i, 4] = P[i]; C[i, 5] = N[i]; C[i, 6] = NOTE[i]
                for (c = 1; c <= 6; c++) if (length(C[i, c]) > W[c]) W[c] = length(C[i, c])
        }
        printf "\nzizhu benchmark: %s persons (%s), %s events; %s cores, load %s at start, %s at end; %s s\n\n",
               num(persons), jur, num(v["events"]), v["cores"] ? v["cores"] : "2", v["load_start"], v["load_end"], v["run_seconds"]
        line = "|"; sep = "|"
        for (c = 1; c <= 6; c++) { line = line sprintf(" %-" W[c] "s |", H[c]); s = ""; for (j = 0; j < W[c] + 2; j++) s = s "-"; sep = sep s "|" }
        print line; print sep
        for (i = 1; i <= nrows; i++) {
                line = "|"
                for (c = 1; c <= 6; c++) line = line sprintf(" %-" W[c] "s |", C[i, c])
                print line
        }
        print ""

        # The page: the table and a log-scale bar chart of the rates.
        printf "<!doctype html>\n<meta charset=\"utf-8\">\n<title>zizhu benchmark</title>\n" > html
        printf "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>\n" >> html
        printf "<h1>zizhu benchmark</h1>\n<p>%s persons (%s), %s events; load average %s at start, %s at end; run took %s s.</p>\n",
               num(persons), jur, num(v["events"]), v["load_start"], v["load_end"], v["run_seconds"] >> html
        max = 0
        for (i = 1; i <= nbars; i++) if (barv[i] > max) max = barv[i]
        lmax = (max > 10) ? log(max) / log(10) : 1
        lmax = int(lmax) + 1
        wbar = 520; hrow = 28
        printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-size=\"12\">\n", 760, nbars * hrow + 40 >> html
        for (e = 2; e <= lmax; e++) {
                x = 200 + wbar * (e - 2) / (lmax - 2 > 0 ? lmax - 2 : 1)
                printf "<line x1=\"%.0f\" y1=\"0\" x2=\"%.0f\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">1e%d</text>\n",
                       x, x, nbars * hrow, x, nbars * hrow + 16, e >> html
        }
        for (i = 1; i <= nbars; i++) {
                lv = (barv[i] > 100) ? log(barv[i]) / log(10) : 2
                w = wbar * (lv - 2) / (lmax - 2 > 0 ? lmax - 2 : 1)
                if (w < 2) w = 2
                color = (bar[i] ~ /^zizhu|^replay/) ? "#d9534f" : (bar[i] ~ /naive/ ? "#999" : "#337ab7")
                printf "<text x=\"195\" y=\"%d\" text-anchor=\"end\">%s</text><rect x=\"200\" y=\"%d\" width=\"%.0f\" height=\"18\" fill=\"%s\"/><text x=\"%.0f\" y=\"%d\">%s/s</text>\n",
                       (i - 1) * hrow + 14, esc(bar[i]), (i - 1) * hrow + 1, w, color, 205 + w, (i - 1) * hrow + 14, num(barv[i]) >> html
        }
        printf "</svg>\n<p>Per second, logarithmic scale. Red: zizhu; blue: ceilings and the engine alone; grey: the naive consumer.</p>\n<table>\n<tr>" >> html
        for (c = 1; c <= 6; c++) printf "<th>%s</th>", H[c] >> html
        printf "</tr>\n" >> html
        for (i = 1; i <= nrows; i++) {
                printf "<tr>" >> html
                for (c = 1; c <= 6; c++) printf "<td>%s</td>", esc(C[i, c]) >> html
                printf "</tr>\n" >> html
        }
        printf "</table>\n" >> html
        if (bad > 0) {
                printf "bench: %d row(s) without a number\n", bad > "/dev/stderr"
                exit 1
        }
}' "$VALUES" || rc=$?
echo "bench: table also in $OUT/bench.csv and $OUT/bench.html" >&2
exit $rc
