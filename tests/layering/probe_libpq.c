/*
 * probe_libpq.c — not part of zizhu: tests/layering/check.sh adds it to a
 * layer that must not use libpq (the engine) and expects the build to
 * fail. The engine's compile line has no libpq include directory, so this
 * fails already when compiling.
 */
#include <libpq-fe.h>

void zz_layer_probe(void);

void zz_layer_probe(void)
{
        PQfinish(PQconnectdb(""));
}
