/*
 * probe_rdkafka.c — not part of zizhu: tests/layering/check.sh adds it to
 * a layer that must not use librdkafka (the engine) and expects the build
 * to fail. librdkafka's header is on the default include path, so this
 * compiles; the layer check's link (every object of the layer, with the
 * layer's own dependencies only) fails on the undefined reference.
 */
#include <librdkafka/rdkafka.h>

int zz_layer_probe(void);

int zz_layer_probe(void)
{
        return rd_kafka_version();
}
