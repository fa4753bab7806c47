/*
 * metrics.h — counters and gauges of a worker, served as Prometheus text
 * on /metrics by libmicrohttpd.
 *
 * Families are declared at start-up (zz_metrics_declare); labelled series
 * are created on first use. Label values must never be
 * personal data: topics, outcomes, reasons.
 *
 * Threads: the worker loop, the relay thread and libmicrohttpd's thread
 * all touch the registry, under one mutex. zz_metrics_add, _set,
 * _observe, _render and _get: any thread, at the same time.
 * zz_metrics_new, zz_metrics_serve and zz_metrics_destroy: the owning
 * thread; serve before the registry is shared, destroy (which stops the
 * HTTP thread) only after every other thread using it has been joined.
 */
#ifndef ZIZHU_METRICS_H
#define ZIZHU_METRICS_H

#include <stddef.h>

typedef struct zz_metrics_s zz_metrics_t;

zz_metrics_t *zz_metrics_new(void);
/* Stops the HTTP server if started. Accepts NULL. */
void zz_metrics_destroy(zz_metrics_t *metrics);

typedef enum {
        ZZ_METRIC_COUNTER = 0,
        ZZ_METRIC_GAUGE,
        ZZ_METRIC_HISTOGRAM
} zz_metric_type_t;

/* Declares the family name with its type and HELP text before any value,
 * so that /metrics lists every family from start-up on (alerts on an
 * absent series do not misfire on an idle worker). An unlabelled family
 * (labelled == 0; a histogram is always unlabelled) gets its sample at 0;
 * a labelled one shows only its HELP and TYPE lines until its first
 * series: create the label sets known in advance with
 * zz_metrics_add(..., 0). Declaring a family twice changes nothing; the
 * HELP text of the first declaration or use wins. */
void zz_metrics_declare(zz_metrics_t *metrics, const char *name,
                        zz_metric_type_t type, const char *help, int labelled);

/* Serves /metrics on 127.0.0.1:port (0.0.0.0 when any != 0). -1 with
 * errstr when the port cannot be bound. */
int zz_metrics_serve(zz_metrics_t *metrics, int port, int any, char *errstr,
                     size_t errstr_size);

/* counter name{label1="v1",label2="v2"} += by. label names/values may be
 * NULL for fewer labels. help is the HELP text of the family. */
void zz_metrics_add(zz_metrics_t *metrics, const char *name, const char *help,
                    const char *l1, const char *v1, const char *l2,
                    const char *v2, double by);
/* gauge name{...} = value. */
void zz_metrics_set(zz_metrics_t *metrics, const char *name, const char *help,
                    const char *l1, const char *v1, const char *l2,
                    const char *v2, double value);
/* One observation of the histogram name (seconds buckets 1ms .. 10s). */
void zz_metrics_observe(zz_metrics_t *metrics, const char *name,
                        const char *help, double seconds);

/* Removes the series name{...} (a gauge of something this process no
 * longer owns, such as a revoked partition's lag); the family stays
 * declared. Nothing happens when there is no such series. */
void zz_metrics_remove(zz_metrics_t *metrics, const char *name, const char *l1,
                       const char *v1, const char *l2, const char *v2);

/* The exposition text (malloc'd; the caller frees it). */
char *zz_metrics_render(zz_metrics_t *metrics);
/* The current value of a counter or gauge series, 0 when absent (tests). */
double zz_metrics_get(zz_metrics_t *metrics, const char *name, const char *l1,
                      const char *v1, const char *l2, const char *v2);

#endif
