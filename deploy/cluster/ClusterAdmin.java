/*
 * ClusterAdmin.java — the Kafka Admin API calls of deploy/cluster/kafka.sh,
 * in one JVM (run as a single source file: java -cp 'libs/*' ClusterAdmin.java),
 * so that the credentials of every role and the whole ACL table are applied
 * in seconds rather than one kafka-configs / kafka-acls JVM per line, and no
 * password ever appears on a command line (kafka-configs --add-config and
 * kafka-storage format --add-scram would take them there).
 *
 *   ClusterAdmin.java CLIENT_PROPERTIES users SECRETS_DIR ROLE...
 *       SCRAM-SHA-512 credentials for User:ROLE, the password read from
 *       SECRETS_DIR/kafka-ROLE.password (upserted every time: the file is
 *       the truth, so a changed file rotates the password)
 *   ClusterAdmin.java CLIENT_PROPERTIES acls ACLS_FILE PREFIX
 *       makes the cluster's ACLs for topics PREFIX... what ACLS_FILE says:
 *       adds the missing bindings, removes the bindings of the file's roles
 *       on topics PREFIX... that the file no longer has, prints the result
 *
 * Passwords are never printed. Exit 0, or 1 with a message on stderr.
 */

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public final class ClusterAdmin {
        private static final int SCRAM_ITERATIONS = 8192;
        private static final long TIMEOUT_S = 60;

        private ClusterAdmin() {
        }

        public static void main(String[] args) {
                if (args.length < 2) {
                        System.err.println("usage: ClusterAdmin.java PROPS users DIR ROLE... | acls FILE PREFIX");
                        System.exit(2);
                }
                Properties props = new Properties();
                try (var in = Files.newInputStream(Path.of(args[0]))) {
                        props.load(in);
                } catch (IOException e) {
                        fail("could not read " + args[0] + ": " + e.getMessage());
                }
                try (Admin admin = Admin.create(props)) {
                        if (args[1].equals("users") && args.length >= 4) {
                                users(admin, Path.of(args[2]), List.of(args).subList(3, args.length));
                        } else if (args[1].equals("acls") && args.length == 4) {
                                acls(admin, Path.of(args[2]), args[3]);
                        } else {
                                fail("unknown command: " + String.join(" ", List.of(args).subList(1, args.length)));
                        }
                } catch (Exception e) {
                        Throwable c = e.getCause() != null ? e.getCause() : e;
                        fail(c.getClass().getSimpleName() + ": " + c.getMessage());
                }
        }

        private static void fail(String msg) {
                System.err.println("ClusterAdmin: " + msg);
                System.exit(1);
        }

        private static void users(Admin admin, Path dir, List<String> roles) throws Exception {
                List<UserScramCredentialAlteration> alts = new ArrayList<>();
                for (String role : roles) {
                        String pw = Files.readString(dir.resolve("kafka-" + role + ".password"),
                                        StandardCharsets.UTF_8).trim();
                        if (pw.isEmpty())
                                fail("empty password file for " + role);
                        alts.add(new UserScramCredentialUpsertion(role,
                                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), pw));
                }
                admin.alterUserScramCredentials(alts).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                System.out.println("SCRAM-SHA-512 credentials of " + roles.size() + " users: "
                                + String.join(" ", roles));
        }

        /* One line of the ACL file: role resource pattern name operations. */
        private static List<AclBinding> parse(Path file, String prefix, Set<String> roles) throws IOException {
                List<AclBinding> out = new ArrayList<>();
                int lineno = 0;
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                        lineno++;
                        String s = line.strip();
                        if (s.isEmpty() || s.startsWith("#"))
                                continue;
                        String[] f = s.split("\\s+");
                        if (f.length != 5)
                                fail(file + ":" + lineno + ": expected 5 columns, found " + f.length);
                        ResourceType type = switch (f[1]) {
                        case "topic" -> ResourceType.TOPIC;
                        case "group" -> ResourceType.GROUP;
                        case "transactional-id" -> ResourceType.TRANSACTIONAL_ID;
                        case "cluster" -> ResourceType.CLUSTER;
                        default -> {
                                fail(file + ":" + lineno + ": unknown resource type " + f[1]);
                                yield null;
                        }
                        };
                        PatternType pattern = switch (f[2]) {
                        case "literal" -> PatternType.LITERAL;
                        case "prefixed" -> PatternType.PREFIXED;
                        default -> {
                                fail(file + ":" + lineno + ": unknown pattern type " + f[2]);
                                yield null;
                        }
                        };
                        String name = f[3].replace("{P}", prefix);
                        if (name.isEmpty())
                                fail(file + ":" + lineno + ": empty resource name (empty prefix?)");
                        roles.add(f[0]);
                        for (String op : f[4].split(",")) {
                                AclOperation o;
                                try {
                                        o = AclOperation.valueOf(op.toUpperCase(Locale.ROOT));
                                } catch (IllegalArgumentException e) {
                                        fail(file + ":" + lineno + ": unknown operation " + op);
                                        return out;
                                }
                                out.add(new AclBinding(new ResourcePattern(type, name, pattern),
                                                new AccessControlEntry("User:" + f[0], "*", o, AclPermissionType.ALLOW)));
                        }
                }
                return out;
        }

        private static String row(AclBinding b) {
                return String.format(Locale.ROOT, "%-16s %-16s %-8s %-34s %s",
                                b.entry().principal().substring("User:".length()),
                                b.pattern().resourceType().toString().toLowerCase(Locale.ROOT),
                                b.pattern().patternType().toString().toLowerCase(Locale.ROOT),
                                b.pattern().name(), b.entry().operation());
        }

        private static void acls(Admin admin, Path file, String prefix) throws Exception {
                if (prefix.isEmpty())
                        fail("the topic prefix is empty: every topic would match");
                Set<String> roles = new HashSet<>();
                Set<AclBinding> want = new LinkedHashSet<>(parse(file, prefix, roles));
                Collection<AclBinding> have = admin.describeAcls(AclBindingFilter.ANY).values()
                                .get(TIMEOUT_S, TimeUnit.SECONDS);
                Set<AclBinding> haveSet = new HashSet<>(have);
                List<AclBinding> add = new ArrayList<>();
                for (AclBinding b : want)
                        if (!haveSet.contains(b))
                                add.add(b);
                List<AclBindingFilter> remove = new ArrayList<>();
                for (AclBinding b : have) {
                        String principal = b.entry().principal();
                        boolean ours = principal.startsWith("User:")
                                        && roles.contains(principal.substring("User:".length()));
                        if (ours && b.pattern().resourceType() == ResourceType.TOPIC
                                        && b.pattern().name().startsWith(prefix) && !want.contains(b))
                                remove.add(b.toFilter());
                }
                if (!add.isEmpty())
                        admin.createAcls(add).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                if (!remove.isEmpty())
                        admin.deleteAcls(remove).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                Set<String> rows = new TreeSet<>();
                for (AclBinding b : want)
                        rows.add(row(b));
                System.out.printf(Locale.ROOT, "%-16s %-16s %-8s %-34s %s%n", "principal", "resource", "pattern",
                                "name", "operation");
                for (String r : rows)
                        System.out.println(r);
                System.out.printf(Locale.ROOT, "acls for prefix \"%s\": %d bindings, %d added, %d removed%n", prefix,
                                want.size(), add.size(), remove.size());
        }
}
