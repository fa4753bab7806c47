"""Reads zizhu's output topics the way an outside consumer does, with
Confluent's own Python client, and checks them (run by test_registry.c in
the venv deploy/local/registry.sh venv makes).

  registry_read.py registry --bootstrap B --prefix P --registry URL
                   --expect STREAM=N ...
      every message of each STREAM's topic is framed 00 + schema id and
      decodes with confluent_kafka's AvroDeserializer (the schema fetched
      from the registry by id); the id is the latest version of the subject
      <topic>-value; N messages in all.

  registry_read.py catalog --bootstrap B --prefix P [--registry URL]
                   --streams S1,S2,...
      every schema in the catalog topic <prefix>schema-catalog has the
      fingerprint its key names (computed by fastavro), and every message
      of the streams' topics names a schema that is in the catalog: by the
      fingerprint after C3 01, or, for 00 + id, by the fingerprint of the
      schema the registry has under that id; and no message is older
      (by its timestamp) than the first catalog record of its schema.

Prints one line per topic and exits 0 when all holds, 1 otherwise. Prints
no message content (the topics hold ID numbers).
"""

import argparse
import json
import sys
import uuid

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro.schema import fingerprint, to_parsing_canonical_form


def read_all(bootstrap, topic):
    """Every committed message of topic, from the beginning to the end."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "registry-read-" + uuid.uuid4().hex,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    try:
        meta = consumer.list_topics(topic, timeout=20)
        parts = sorted(meta.topics[topic].partitions)
        ends = {}
        for p in parts:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=20)
            ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        # read_committed stops before aborted or open transactions: the
        # position passes the end once the last stable offset is read.
        done = {p for p in parts if ends[p] == 0}
        out = []
        idle = 0
        while len(done) < len(parts) and idle < 20:
            m = consumer.poll(1.0)
            if m is None:
                idle += 1
                for tp in consumer.position([TopicPartition(topic, p) for p in parts]):
                    if tp.offset >= ends[tp.partition]:
                        done.add(tp.partition)
                continue
            if m.error():
                raise RuntimeError(f"{topic}: {m.error()}")
            idle = 0
            out.append(m)
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
        return out
    finally:
        consumer.close()


def check_registry(args):
    client = SchemaRegistryClient({"url": args.registry})
    deserializer = AvroDeserializer(client)
    ok = True
    for spec in args.expect:
        stream, want = spec.split("=")
        topic = args.prefix + stream
        subject = topic + "-value"
        latest = client.get_latest_version(subject)
        msgs = read_all(args.bootstrap, topic)
        decoded = 0
        ids = set()
        for m in msgs:
            v = m.value()
            if not v or v[0] != 0:
                print(f"{topic}: offset {m.offset()} is not registry framed")
                ok = False
                continue
            ids.add(int.from_bytes(v[1:5], "big"))
            record = deserializer(v, SerializationContext(topic, MessageField.VALUE))
            if not isinstance(record, dict) or not record:
                print(f"{topic}: offset {m.offset()} decoded to nothing")
                ok = False
                continue
            decoded += 1
        if ids != {latest.schema_id}:
            print(f"{topic}: schema ids {sorted(ids)}, subject {subject} latest is {latest.schema_id}")
            ok = False
        if decoded != int(want):
            print(f"{topic}: {decoded} decoded, {want} expected")
            ok = False
        print(f"{topic}: {decoded} messages decoded by AvroDeserializer, "
              f"schema id {latest.schema_id} (subject {subject} version {latest.version})")
    return ok


def check_catalog(args):
    ok = True
    catalog = {}
    first = {}  # key -> timestamp of its first catalog record
    for m in read_all(args.bootstrap, args.prefix + "schema-catalog"):
        key = m.key().decode()
        ts = m.timestamp()[1]
        first[key] = min(first.get(key, ts), ts)
        schema = json.loads(m.value())
        fp = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
        if fp != key:
            print(f"catalog: key {key} holds a schema whose fingerprint is {fp}")
            ok = False
        catalog[key] = schema
    print(f"{args.prefix}schema-catalog: {len(catalog)} schemas, fingerprints verified by fastavro")
    client = SchemaRegistryClient({"url": args.registry}) if args.registry else None
    by_id = {}
    for stream in args.streams.split(","):
        topic = args.prefix + stream
        seen = set()
        n = 0
        for m in read_all(args.bootstrap, topic):
            v = m.value() or b""
            n += 1
            if v[:2] == b"\xc3\x01" and len(v) >= 10:
                fp = v[2:10].hex()
            elif v[:1] == b"\x00" and len(v) >= 5 and client is not None:
                sid = int.from_bytes(v[1:5], "big")
                if sid not in by_id:
                    text = client.get_schema(sid).schema_str
                    by_id[sid] = fingerprint(to_parsing_canonical_form(json.loads(text)), "CRC-64-AVRO")
                fp = by_id[sid]
            else:
                print(f"{topic}: offset {m.offset()} has an unknown framing")
                ok = False
                continue
            seen.add(fp)
            if fp in first and m.timestamp()[1] < first[fp]:
                print(f"{topic}: offset {m.offset()} is older than the catalog record of {fp}")
                ok = False
        missing = sorted(seen - set(catalog))
        if missing:
            print(f"{topic}: fingerprints not in the catalog: {missing}")
            ok = False
        print(f"{topic}: {n} messages, {len(seen)} fingerprint(s), all in the catalog"
              if not missing else f"{topic}: {n} messages")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["registry", "catalog"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--registry")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--streams", default="")
    args = ap.parse_args()
    ok = check_registry(args) if args.mode == "registry" else check_catalog(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
