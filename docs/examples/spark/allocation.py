"""Spark Structured Streaming on zizhu's allocation topic (docs/consumers.md).

A documented configuration: the tests do not run Spark (it is not packaged
where the project's dependencies come from); they only parse this file.
Needs pyspark with the spark-sql-kafka and spark-avro packages matching
its version, and fastavro (for the fingerprint), e.g.

    spark-submit --packages org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.1,\
org.apache.spark:spark-avro_2.12:3.5.1 docs/examples/spark/allocation.py \
        127.0.0.1:19092 zz. schemas

Values are Avro single-object encoding (C3 01 + 8-byte fingerprint + datum)
and from_avro reads the datum only: the 10-byte header is cut off, and rows
are kept only when their fingerprint is the one of the schema given (a row
of another schema version would be misread: route it elsewhere).
"""

import json
import sys

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro


def main():
    bootstrap, prefix, schemas = sys.argv[1:4]
    with open(schemas + "/allocation.avsc", encoding="utf-8") as f:
        schema_json = f.read()
    parsed = fastavro.parse_schema(json.loads(schema_json), _write_hint=False)
    header = "C301" + fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO").upper()

    spark = SparkSession.builder.appName("zizhu-allocation").getOrCreate()
    df = (spark.readStream.format("kafka")
          .option("kafka.bootstrap.servers", bootstrap)
          .option("subscribe", prefix + "allocation")
          .option("startingOffsets", "earliest")
          .option("kafka.isolation.level", "read_committed")   # required
          .option("includeHeaders", "true")
          .load())
    rows = (df.where(F.hex(F.substring("value", 1, 10)) == header)
            .select(from_avro(F.expr("substring(value, 11, length(value) - 10)"),
                              schema_json).alias("a"))
            .select("a.allocation_id", "a.jurisdiction", "a.period", "a.payer",
                    "a.fund", "a.region", "a.kind", "a.persons", "a.fen")
            # one row per allocation_id: the key jurisdiction/period is
            # shared by every allocation of the period
            .dropDuplicates(["allocation_id"]))
    (rows.writeStream.outputMode("append").format("console")
     .option("truncate", "false").start().awaitTermination())


if __name__ == "__main__":
    main()
