"""Read zizhu's output topics as an external consumer would (docs/consumers.md).

confluent-kafka (librdkafka) with isolation.level=read_committed, and fastavro
to decode Avro single-object encoding: C3 01, the writer schema's 8-byte
CRC-64-AVRO fingerprint (little-endian), then the binary datum. The writer
schema is looked up by fingerprint among schemas/*.avsc (current and older
versions) and resolved into the current one, so old messages keep decoding.

It reads every output topic from the beginning to its end, applies the
contract's deduplication rules and prints one summary line per topic; it
never prints a key or a person's data (keys hold ID numbers).

    python zizhu_read.py --bootstrap 127.0.0.1:19092 --prefix zz. --schemas schemas

Output, one line per topic:
    <stream> messages=N distinct=D fen=F headers=ok|missing [reasons=R:n,...]
distinct counts what the contract says a consumer keeps: the latest value per
key on subsidy-state, one per recon_id on reconciliation, one per
allocation_id on allocation (never per key), one per source message on
dead-letter; fen adds up subsidy_fen / fen over those.

Exit status: 0 read, 1 a message could not be decoded, 2 usage.
"""

import argparse
import glob
import io
import json
import os
import sys
import uuid

import fastavro
from confluent_kafka import Consumer, KafkaError, TopicPartition
from fastavro.schema import fingerprint, to_parsing_canonical_form

OUTPUTS = ["subsidy-state", "reconciliation", "allocation", "dead-letter"]
# the header each output carries: the id of the row in zizhu's outbox
HEADER = {"subsidy-state": "zz-outbox-id", "reconciliation": "zz-outbox-id",
          "dead-letter": "zz-outbox-id", "allocation": "zz-settle-id"}


def load_schemas(directory):
    """{fingerprint bytes: (stream, parsed writer schema)}, {stream: current}."""
    writers, current = {}, {}
    for path in sorted(glob.glob(os.path.join(directory, "*.avsc"))):
        name = os.path.basename(path)[: -len(".avsc")]
        stream = name.split(".v")[0]
        with open(path, encoding="utf-8") as f:
            parsed = fastavro.parse_schema(json.load(f), _write_hint=False)
        # fastavro's hex is the fingerprint's bytes in wire order (the
        # 64-bit value little-endian), as single-object encoding carries it
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
        writers[fp] = (stream, parsed)
        if name == stream:
            current[stream] = parsed
    return writers, current


def decode(value, stream, writers, current):
    if value is None or len(value) < 10 or value[:2] != b"\xc3\x01":
        raise ValueError("not Avro single-object encoding")
    writer = writers.get(value[2:10])
    if writer is None:
        raise ValueError("unknown writer fingerprint %s" % value[2:10].hex())
    if writer[0] != stream:
        raise ValueError("a schema of stream %s" % writer[0])
    return fastavro.schemaless_reader(io.BytesIO(value[10:]), writer[1], current[stream])


def read_topic(bootstrap, topic):
    """Every committed message of topic, partition by partition, to its end."""
    c = Consumer({"bootstrap.servers": bootstrap,
                  "group.id": "zizhu-example-" + uuid.uuid4().hex,
                  "isolation.level": "read_committed",   # required: see the contract
                  "enable.auto.commit": False,
                  "auto.offset.reset": "earliest",
                  "enable.partition.eof": True})
    meta = c.list_topics(topic, timeout=10)
    parts = sorted(meta.topics[topic].partitions)
    ends = {}
    for p in parts:
        # the last stable offset under read_committed
        _, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = hi
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    left = {p for p in parts if ends[p] > 0}
    msgs = []
    while left:
        m = c.poll(5.0)
        if m is None:
            break
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                left.discard(m.partition())
                continue
            raise RuntimeError(str(m.error()))
        msgs.append(m)
        if m.offset() + 1 >= ends[m.partition()]:
            left.discard(m.partition())
    c.close()
    return msgs


def summarize(stream, msgs, writers, current):
    headers_ok = True
    keep = {}
    reasons = {}
    for m in msgs:
        rec = decode(m.value(), stream, writers, current)
        hdrs = dict(m.headers() or [])
        if HEADER[stream] not in hdrs:
            headers_ok = False
        if stream == "subsidy-state":
            # compacted, keyed person_id/year: the latest value per key wins
            keep[m.key()] = rec["subsidy_fen"]
        elif stream == "reconciliation":
            keep[rec["recon_id"]] = rec["fen"]
        elif stream == "allocation":
            # the key jurisdiction/period is shared by every allocation of
            # the period: deduplicate on allocation_id, never upsert on the key
            keep[rec["allocation_id"]] = rec["fen"]
        else:
            src = (rec["source_topic"], rec["source_partition"], rec["source_offset"])
            if src not in keep:
                reasons[rec["reason"]] = reasons.get(rec["reason"], 0) + 1
            keep[src] = 0
    line = "%s messages=%d distinct=%d fen=%d headers=%s" % (
        stream, len(msgs), len(keep), sum(keep.values()), "ok" if headers_ok else "missing")
    if stream == "dead-letter":
        line += " reasons=" + ",".join("%s:%d" % (r, n) for r, n in sorted(reasons.items()))
    return line


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bootstrap", default=os.environ.get("ZIZHU_BOOTSTRAP", "127.0.0.1:19092"))
    ap.add_argument("--prefix", default=os.environ.get("ZIZHU_TOPIC_PREFIX", "zz."))
    ap.add_argument("--schemas", default="schemas")
    args = ap.parse_args()
    writers, current = load_schemas(args.schemas)
    if not current:
        print("no schemas in %s" % args.schemas, file=sys.stderr)
        return 2
    for stream in OUTPUTS:
        try:
            print(summarize(stream, read_topic(args.bootstrap, args.prefix + stream),
                            writers, current))
        except ValueError as e:
            print("could not decode a message of %s%s: %s" % (args.prefix, stream, e),
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
