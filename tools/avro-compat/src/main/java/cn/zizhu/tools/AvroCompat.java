/*
 * zizhu-avro-compat: is every stream's current schema compatible with each
 * of its previous versions, as Apache Avro itself judges it?
 *
 * Our codec resolves older writers into the current reader (zz_codec_new
 * refuses an incompatible plan), which protects zizhu as a reader only.
 * External readers of the outputs keep the schema they compiled against
 * while zizhu writes the new one, so an output must also be readable the
 * other way round (FULL = BACKWARD + FORWARD); an input only has to be
 * readable by zizhu's current reader (BACKWARD). The judge is
 * org.apache.avro.SchemaCompatibility, not our own resolution code.
 *
 * Usage: zizhu-avro-compat SCHEMA_DIR [RULES_FILE]
 *        zizhu-avro-compat --fingerprints FILE...
 *   (the second prints "<fingerprint hex> <file>" per schema file: the
 *   CRC-64-AVRO of its Parsing Canonical Form, as single-object encoding
 *   carries it, little-endian)
 *   SCHEMA_DIR   holds <stream>.avsc (current) and <stream>.v<N>.avsc
 *   RULES_FILE   default SCHEMA_DIR/compatibility.txt: one line per stream
 *                "stream role rule" (role input|output, rule BACKWARD|
 *                FORWARD|FULL|NONE), and "except stream vN direction
 *                reason..." for an incompatibility accepted on purpose.
 * Prints one row per (stream, previous version) to stdout.
 * Exit status: 0 every rule holds (or is excepted with a reason), 1 some
 * rule is broken, 2 usage, unreadable file or a stream without a rule.
 */
package cn.zizhu.tools;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;

public final class AvroCompat {
        private static final Pattern FILE =
                Pattern.compile("^([a-z][a-z0-9-]*?)(?:\\.v([0-9]+))?\\.avsc$");

        private static final class Rule {
                String role;
                String rule;
                /* "v<N> backward" -> reason */
                final Map<String, String> except = new TreeMap<>();
        }

        private static final class Stream {
                Path current;
                final TreeMap<Integer, Path> older = new TreeMap<>();
        }

        static final class UsageError extends Exception {
                private static final long serialVersionUID = 1L;

                UsageError(String msg) {
                        super(msg);
                }
        }

        private AvroCompat() {
        }

        public static void main(String[] args) {
                try {
                        System.exit(run(args));
                } catch (UsageError e) {
                        System.err.println("zizhu-avro-compat: " + e.getMessage());
                        System.exit(2);
                }
        }

        private static Schema parse(Path p) throws UsageError {
                try {
                        /* one parser per file: every version has the same full name */
                        return new Schema.Parser().parse(
                                Files.readString(p, StandardCharsets.UTF_8));
                } catch (IOException | RuntimeException e) {
                        throw new UsageError("could not parse " + p + ": " + e.getMessage());
                }
        }

        private static Map<String, Rule> readRules(Path file) throws UsageError {
                Map<String, Rule> rules = new TreeMap<>();
                List<String> lines;
                try {
                        lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                } catch (IOException e) {
                        throw new UsageError("could not read " + file + ": " + e.getMessage());
                }
                int n = 0;
                for (String raw : lines) {
                        n++;
                        String line = raw.replaceAll("#.*$", "").trim();
                        if (line.isEmpty())
                                continue;
                        String[] f = line.split("\\s+", 5);
                        if (f[0].equals("except")) {
                                if (f.length < 5 || !f[2].matches("v[0-9]+")
                                    || !(f[3].equals("backward") || f[3].equals("forward")))
                                        throw new UsageError(file + ":" + n
                                                + ": expected \"except STREAM vN backward|forward REASON\"");
                                Rule r = rules.get(f[1]);
                                if (r == null)
                                        throw new UsageError(file + ":" + n + ": no rule for stream "
                                                + f[1] + " above this exception");
                                r.except.put(f[2] + " " + f[3], f[4]);
                                continue;
                        }
                        if (f.length != 3 || !(f[1].equals("input") || f[1].equals("output"))
                            || !f[2].matches("BACKWARD|FORWARD|FULL|NONE"))
                                throw new UsageError(file + ":" + n
                                        + ": expected \"STREAM input|output BACKWARD|FORWARD|FULL|NONE\"");
                        Rule r = new Rule();
                        r.role = f[1];
                        r.rule = f[2];
                        if (rules.put(f[0], r) != null)
                                throw new UsageError(file + ":" + n + ": stream " + f[0] + " twice");
                }
                return rules;
        }

        private static Map<String, Stream> readStreams(Path dir) throws UsageError {
                Map<String, Stream> streams = new TreeMap<>();
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.avsc")) {
                        for (Path p : ds) {
                                Matcher m = FILE.matcher(p.getFileName().toString());
                                if (!m.matches())
                                        throw new UsageError("unexpected schema file name " + p);
                                Stream s = streams.computeIfAbsent(m.group(1), k -> new Stream());
                                if (m.group(2) == null)
                                        s.current = p;
                                else
                                        s.older.put(Integer.valueOf(m.group(2)), p);
                        }
                } catch (IOException e) {
                        throw new UsageError("could not list " + dir + ": " + e.getMessage());
                }
                for (Map.Entry<String, Stream> e : streams.entrySet())
                        if (e.getValue().current == null)
                                throw new UsageError("stream " + e.getKey()
                                        + " has older versions but no current " + e.getKey() + ".avsc");
                return streams;
        }

        private static String describe(SchemaPairCompatibility c) {
                if (c.getType() == SchemaCompatibilityType.COMPATIBLE)
                        return "compatible";
                StringBuilder sb = new StringBuilder("INCOMPATIBLE");
                for (Incompatibility i : c.getResult().getIncompatibilities())
                        sb.append(" [").append(i.getType()).append(" at ").append(i.getLocation())
                                .append(": ").append(i.getMessage()).append(']');
                return sb.toString();
        }

        private static int fingerprints(String[] args) throws UsageError {
                for (int i = 1; i < args.length; i++) {
                        long fp = SchemaNormalization.parsingFingerprint64(parse(Paths.get(args[i])));
                        StringBuilder hex = new StringBuilder();
                        for (int b = 0; b < 8; b++)
                                hex.append(String.format("%02x", (fp >>> (8 * b)) & 0xff));
                        System.out.println(hex + " " + args[i]);
                }
                return 0;
        }

        static int run(String[] args) throws UsageError {
                if (args.length >= 1 && args[0].equals("--fingerprints"))
                        return fingerprints(args);
                if (args.length < 1 || args.length > 2)
                        throw new UsageError("usage: zizhu-avro-compat SCHEMA_DIR [RULES_FILE]");
                Path dir = Paths.get(args[0]);
                Path rulesFile = args.length == 2 ? Paths.get(args[1]) : dir.resolve("compatibility.txt");
                Map<String, Rule> rules = readRules(rulesFile);
                Map<String, Stream> streams = readStreams(dir);
                for (String name : streams.keySet())
                        if (!rules.containsKey(name))
                                throw new UsageError("stream " + name + " has no rule in " + rulesFile
                                        + " (say whether it is an input or an output)");
                for (String name : rules.keySet())
                        if (!streams.containsKey(name))
                                throw new UsageError("rule for stream " + name + " but no " + name
                                        + ".avsc in " + dir);

                int broken = 0;
                List<String> unusedExceptions = new ArrayList<>();
                System.out.println("| stream | role | rule | previous | backward (new reads old) | forward (old reads new) | verdict |");
                System.out.println("|---|---|---|---|---|---|---|");
                for (Map.Entry<String, Stream> e : streams.entrySet()) {
                        String name = e.getKey();
                        Rule r = rules.get(name);
                        Stream s = e.getValue();
                        Schema cur = parse(s.current);
                        for (String k : r.except.keySet())
                                if (!s.older.containsKey(Integer.valueOf(k.substring(1, k.indexOf(' ')))))
                                        unusedExceptions.add(name + " " + k);
                        if (s.older.isEmpty()) {
                                System.out.printf("| %s | %s | %s | (none) | - | - | ok: no previous version |%n",
                                        name, r.role, r.rule);
                                continue;
                        }
                        for (Map.Entry<Integer, Path> o : s.older.entrySet()) {
                                String v = "v" + o.getKey();
                                Schema old = parse(o.getValue());
                                SchemaPairCompatibility bw =
                                        SchemaCompatibility.checkReaderWriterCompatibility(cur, old);
                                SchemaPairCompatibility fw =
                                        SchemaCompatibility.checkReaderWriterCompatibility(old, cur);
                                boolean needBw = r.rule.equals("BACKWARD") || r.rule.equals("FULL");
                                boolean needFw = r.rule.equals("FORWARD") || r.rule.equals("FULL");
                                StringBuilder verdict = new StringBuilder();
                                boolean ok = true;
                                String[][] dirs = {
                                        { "backward", needBw ? "1" : "0",
                                          bw.getType() == SchemaCompatibilityType.COMPATIBLE ? "1" : "0" },
                                        { "forward", needFw ? "1" : "0",
                                          fw.getType() == SchemaCompatibilityType.COMPATIBLE ? "1" : "0" } };
                                for (String[] d : dirs) {
                                        String reason = r.except.get(v + " " + d[0]);
                                        if (d[1].equals("1") && d[2].equals("0")) {
                                                if (reason != null) {
                                                        verdict.append("excepted (").append(d[0]).append("): ")
                                                                .append(reason).append("; ");
                                                } else {
                                                        ok = false;
                                                        verdict.append("BROKEN (").append(d[0]).append("); ");
                                                }
                                        } else if (reason != null) {
                                                unusedExceptions.add(name + " " + v + " " + d[0]
                                                        + " (it is compatible or not required)");
                                        }
                                }
                                if (!ok)
                                        broken++;
                                String vs = verdict.length() == 0 ? "ok" : verdict.toString().replaceAll("; $", "");
                                if (ok && verdict.length() > 0)
                                        vs = "ok, " + vs;
                                System.out.printf("| %s | %s | %s | %s | %s | %s | %s |%n", name, r.role, r.rule,
                                        o.getValue().getFileName(), describe(bw), describe(fw), vs);
                        }
                }
                for (String u : unusedExceptions) {
                        System.err.println("zizhu-avro-compat: exception not needed, remove it: " + u);
                        broken++;
                }
                System.out.println(broken == 0 ? "compatibility: every rule holds"
                                               : "compatibility: " + broken + " rule(s) broken");
                return broken == 0 ? 0 : 1;
        }
}
