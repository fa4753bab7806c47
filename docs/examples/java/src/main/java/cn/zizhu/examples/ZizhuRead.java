/*
 * Reads zizhu's output topics as an external consumer would
 * (docs/consumers.md): kafka-clients with isolation.level=read_committed,
 * and Apache Avro's BinaryMessageDecoder for single-object encoding, with
 * every version of each stream's schema (schemas/*.avsc) in its SchemaStore
 * so that older writers resolve into the current schema.
 *
 * Usage: ZizhuRead BOOTSTRAP TOPIC_PREFIX SCHEMA_DIR
 * Prints one line per output topic, as docs/examples/python/zizhu_read.py:
 *   <stream> messages=N distinct=D fen=F headers=ok|missing [reasons=R:n,...]
 * It never prints a key or a person's data (keys hold ID numbers).
 * Exit status: 0 read, 1 a message could not be decoded, 2 usage.
 */
package cn.zizhu.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.UUID;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.SchemaStore;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class ZizhuRead {
        private static final String[] OUTPUTS = { "subsidy-state", "reconciliation", "allocation", "dead-letter" };

        private ZizhuRead() {
        }

        private static String header(String stream) {
                return stream.equals("allocation") ? "zz-settle-id" : "zz-outbox-id";
        }

        /* every committed message of the topic, from the beginning to its end */
        private static List<ConsumerRecord<byte[], byte[]>> readTopic(String bootstrap, String topic) {
                Properties p = new Properties();
                p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
                p.put(ConsumerConfig.GROUP_ID_CONFIG, "zizhu-example-" + UUID.randomUUID());
                p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"); // required
                p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
                p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
                List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
                try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                                new ByteArrayDeserializer())) {
                        List<TopicPartition> parts = new ArrayList<>();
                        for (PartitionInfo i : c.partitionsFor(topic, Duration.ofSeconds(10)))
                                parts.add(new TopicPartition(topic, i.partition()));
                        c.assign(parts);
                        c.seekToBeginning(parts);
                        /* under read_committed: the last stable offsets */
                        Map<TopicPartition, Long> ends = c.endOffsets(parts, Duration.ofSeconds(10));
                        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                        while (System.nanoTime() < deadline) {
                                boolean done = true;
                                for (TopicPartition tp : parts)
                                        if (c.position(tp) < ends.get(tp))
                                                done = false;
                                if (done)
                                        break;
                                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500)))
                                        out.add(r);
                        }
                }
                return out;
        }

        private static Map<String, List<Schema>> loadSchemas(Path dir) throws IOException {
                Map<String, List<Schema>> byStream = new HashMap<>();
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.avsc")) {
                        for (Path f : ds) {
                                String name = f.getFileName().toString().replaceAll("\\.avsc$", "");
                                String stream = name.replaceAll("\\.v[0-9]+$", "");
                                Schema s = new Schema.Parser().parse(Files.readString(f, StandardCharsets.UTF_8));
                                List<Schema> l = byStream.computeIfAbsent(stream, k -> new ArrayList<>());
                                if (name.equals(stream))
                                        l.add(0, s); /* the current one first */
                                else
                                        l.add(s);
                        }
                }
                return byStream;
        }

        private static String summarize(String stream, List<Schema> schemas,
                        List<ConsumerRecord<byte[], byte[]>> msgs) throws IOException {
                SchemaStore.Cache store = new SchemaStore.Cache();
                for (Schema s : schemas)
                        store.addSchema(s);
                BinaryMessageDecoder<GenericRecord> dec =
                        new BinaryMessageDecoder<>(GenericData.get(), schemas.get(0), store);
                Map<String, Long> keep = new HashMap<>();
                Map<String, Integer> reasons = new TreeMap<>();
                boolean headersOk = true;
                for (ConsumerRecord<byte[], byte[]> m : msgs) {
                        GenericRecord r = dec.decode(m.value());
                        if (m.headers().lastHeader(header(stream)) == null)
                                headersOk = false;
                        switch (stream) {
                        case "subsidy-state":
                                /* compacted, keyed person_id/year: the latest value per key */
                                keep.put(Base64.getEncoder().encodeToString(m.key()), (Long) r.get("subsidy_fen"));
                                break;
                        case "reconciliation":
                                keep.put(r.get("recon_id").toString(), (Long) r.get("fen"));
                                break;
                        case "allocation":
                                /* the key jurisdiction/period is shared by every allocation of the
                                 * period: deduplicate on allocation_id, never upsert on the key */
                                keep.put(r.get("allocation_id").toString(), (Long) r.get("fen"));
                                break;
                        default:
                                String src = r.get("source_topic") + "/" + r.get("source_partition") + "/"
                                        + r.get("source_offset");
                                if (!keep.containsKey(src))
                                        reasons.merge(r.get("reason").toString(), 1, Integer::sum);
                                keep.put(src, 0L);
                        }
                }
                long fen = 0;
                for (long v : keep.values())
                        fen += v;
                String line = String.format("%s messages=%d distinct=%d fen=%d headers=%s", stream, msgs.size(),
                        keep.size(), fen, headersOk ? "ok" : "missing");
                if (stream.equals("dead-letter")) {
                        StringJoiner j = new StringJoiner(",");
                        for (Map.Entry<String, Integer> e : reasons.entrySet())
                                j.add(e.getKey() + ":" + e.getValue());
                        line += " reasons=" + j;
                }
                return line;
        }

        public static void main(String[] args) throws IOException {
                if (args.length != 3) {
                        System.err.println("usage: ZizhuRead BOOTSTRAP TOPIC_PREFIX SCHEMA_DIR");
                        System.exit(2);
                }
                Map<String, List<Schema>> schemas = loadSchemas(Paths.get(args[2]));
                for (String stream : OUTPUTS) {
                        try {
                                System.out.println(summarize(stream, schemas.get(stream),
                                        readTopic(args[0], args[1] + stream)));
                        } catch (IOException | RuntimeException e) {
                                System.err.println("could not decode a message of " + args[1] + stream + ": " + e);
                                System.exit(1);
                        }
                }
        }
}
