/*
 * metrics.c — a small Prometheus registry and its /metrics endpoint.
 */
#include "zizhu/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#define N_BUCKETS 12
static const double bucket_le[N_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

typedef struct series_s {
        char *name;
        char *labels; /* rendered: a="x",b="y" or "" */
        kind_t kind;
        char *help;
        double value;
        unsigned long long buckets[N_BUCKETS];
        unsigned long long count;
        double sum;
        int placeholder; /* a declared labelled family: HELP and TYPE only */
} series_t;

struct zz_metrics_s {
        pthread_mutex_t lock;
        series_t *series;
        size_t n, cap;
        struct MHD_Daemon *daemon;
};

zz_metrics_t *zz_metrics_new(void)
{
        zz_metrics_t *m = calloc(1, sizeof(*m));

        if (m != NULL)
                pthread_mutex_init(&m->lock, NULL);
        return m;
}

void zz_metrics_destroy(zz_metrics_t *m)
{
        size_t i;

        if (m == NULL)
                return;
        if (m->daemon != NULL)
                MHD_stop_daemon(m->daemon);
        for (i = 0; i < m->n; i++) {
                free(m->series[i].name);
                free(m->series[i].labels);
                free(m->series[i].help);
        }
        free(m->series);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

static void render_labels(char *buf, size_t size, const char *l1,
                          const char *v1, const char *l2, const char *v2)
{
        buf[0] = '\0';
        if (l1 != NULL && v1 != NULL)
                snprintf(buf, size, "%s=\"%s\"", l1, v1);
        if (l2 != NULL && v2 != NULL) {
                size_t len = strlen(buf);
                snprintf(buf + len, size - len, "%s%s=\"%s\"",
                         len > 0 ? "," : "", l2, v2);
        }
}

/* Caller holds the lock. NULL on out of memory. */
static series_t *find(zz_metrics_t *m, const char *name, const char *labels,
                      kind_t kind, const char *help, int create)
{
        size_t i;
        series_t *s;

        for (i = 0; i < m->n; i++)
                if (!m->series[i].placeholder &&
                    strcmp(m->series[i].name, name) == 0 &&
                    strcmp(m->series[i].labels, labels) == 0)
                        return &m->series[i];
        if (!create)
                return NULL;
        if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 32;
                series_t *ns = realloc(m->series, cap * sizeof(*ns));
                if (ns == NULL)
                        return NULL;
                m->series = ns;
                m->cap = cap;
        }
        s = &m->series[m->n];
        memset(s, 0, sizeof(*s));
        s->name = strdup(name);
        s->labels = strdup(labels);
        s->help = strdup(help != NULL ? help : name);
        s->kind = kind;
        if (s->name == NULL || s->labels == NULL || s->help == NULL) {
                free(s->name);
                free(s->labels);
                free(s->help);
                return NULL;
        }
        m->n++;
        return s;
}

void zz_metrics_add(zz_metrics_t *m, const char *name, const char *help,
                    const char *l1, const char *v1, const char *l2,
                    const char *v2, double by)
{
        char labels[256];
        series_t *s;

        if (m == NULL)
                return;
        render_labels(labels, sizeof(labels), l1, v1, l2, v2);
        pthread_mutex_lock(&m->lock);
        s = find(m, name, labels, KIND_COUNTER, help, 1);
        if (s != NULL)
                s->value += by;
        pthread_mutex_unlock(&m->lock);
}

void zz_metrics_set(zz_metrics_t *m, const char *name, const char *help,
                    const char *l1, const char *v1, const char *l2,
                    const char *v2, double value)
{
        char labels[256];
        series_t *s;

        if (m == NULL)
                return;
        render_labels(labels, sizeof(labels), l1, v1, l2, v2);
        pthread_mutex_lock(&m->lock);
        s = find(m, name, labels, KIND_GAUGE, help, 1);
        if (s != NULL)
                s->value = value;
        pthread_mutex_unlock(&m->lock);
}

void zz_metrics_observe(zz_metrics_t *m, const char *name, const char *help,
                        double seconds)
{
        series_t *s;
        size_t i;

        if (m == NULL)
                return;
        pthread_mutex_lock(&m->lock);
        s = find(m, name, "", KIND_HISTOGRAM, help, 1);
        if (s != NULL) {
                for (i = 0; i < N_BUCKETS; i++)
                        if (seconds <= bucket_le[i])
                                s->buckets[i]++;
                s->count++;
                s->sum += seconds;
        }
        pthread_mutex_unlock(&m->lock);
}

void zz_metrics_declare(zz_metrics_t *m, const char *name,
                        zz_metric_type_t type, const char *help, int labelled)
{
        static const kind_t kinds[] = {KIND_COUNTER, KIND_GAUGE,
                                       KIND_HISTOGRAM};
        series_t *s;
        size_t i;

        if (m == NULL)
                return;
        pthread_mutex_lock(&m->lock);
        for (i = 0; i < m->n; i++)
                if (strcmp(m->series[i].name, name) == 0)
                        break;
        if (i == m->n) {
                /* an unlabelled family gets its one sample at 0 now; a
                 * histogram never has labels here */
                s = find(m, name, "", kinds[type], help, 1);
                if (s != NULL && labelled && type != ZZ_METRIC_HISTOGRAM)
                        s->placeholder = 1;
        }
        pthread_mutex_unlock(&m->lock);
}

void zz_metrics_remove(zz_metrics_t *m, const char *name, const char *l1,
                       const char *v1, const char *l2, const char *v2)
{
        char labels[256];
        series_t *s;

        if (m == NULL)
                return;
        render_labels(labels, sizeof(labels), l1, v1, l2, v2);
        pthread_mutex_lock(&m->lock);
        s = find(m, name, labels, KIND_GAUGE, NULL, 0);
        if (s != NULL) {
                size_t i = (size_t)(s - m->series);

                free(s->name);
                free(s->labels);
                free(s->help);
                memmove(s, s + 1, (m->n - i - 1) * sizeof(*s));
                m->n--;
        }
        pthread_mutex_unlock(&m->lock);
}

double zz_metrics_get(zz_metrics_t *m, const char *name, const char *l1,
                      const char *v1, const char *l2, const char *v2)
{
        char labels[256];
        series_t *s;
        double v = 0;

        render_labels(labels, sizeof(labels), l1, v1, l2, v2);
        pthread_mutex_lock(&m->lock);
        s = find(m, name, labels, KIND_COUNTER, NULL, 0);
        if (s != NULL)
                v = s->kind == KIND_HISTOGRAM ? (double)s->count : s->value;
        pthread_mutex_unlock(&m->lock);
        return v;
}

typedef struct text_s {
        char *buf;
        size_t len, cap;
} text_t;

static void put(text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
        va_list ap;
        int n;

        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(t->buf ? t->buf + t->len : NULL,
                              t->buf ? t->cap - t->len : 0, fmt, ap);
                va_end(ap);
                if (n < 0)
                        return;
                if (t->buf != NULL && t->len + (size_t)n < t->cap) {
                        t->len += (size_t)n;
                        return;
                }
                {
                        size_t cap = (t->cap + (size_t)n + 1) * 2;
                        char *nb = realloc(t->buf, cap);
                        if (nb == NULL)
                                return;
                        t->buf = nb;
                        t->cap = cap;
                }
        }
}

char *zz_metrics_render(zz_metrics_t *m)
{
        text_t t = {NULL, 0, 0};
        size_t i, j, b;

        put(&t, "%s", "");
        pthread_mutex_lock(&m->lock);
        for (i = 0; i < m->n; i++) {
                series_t *s = &m->series[i];
                int first = 1;

                for (j = 0; j < i; j++)
                        if (strcmp(m->series[j].name, s->name) == 0)
                                first = 0;
                if (!first)
                        continue;
                put(&t, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help,
                    s->name,
                    s->kind == KIND_COUNTER
                        ? "counter"
                        : (s->kind == KIND_GAUGE ? "gauge" : "histogram"));
                for (j = i; j < m->n; j++) {
                        series_t *x = &m->series[j];

                        if (x->placeholder || strcmp(x->name, s->name) != 0)
                                continue;
                        if (x->kind != KIND_HISTOGRAM) {
                                if (x->labels[0] != '\0')
                                        put(&t, "%s{%s} %.17g\n", x->name,
                                            x->labels, x->value);
                                else
                                        put(&t, "%s %.17g\n", x->name,
                                            x->value);
                                continue;
                        }
                        for (b = 0; b < N_BUCKETS; b++)
                                put(&t, "%s_bucket{le=\"%g\"} %llu\n", x->name,
                                    bucket_le[b], x->buckets[b]);
                        put(&t, "%s_bucket{le=\"+Inf\"} %llu\n", x->name,
                            x->count);
                        put(&t, "%s_sum %.17g\n%s_count %llu\n", x->name,
                            x->sum, x->name, x->count);
                }
        }
        pthread_mutex_unlock(&m->lock);
        return t.buf;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
        zz_metrics_t *m = cls;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        char *body;
        unsigned int status = MHD_HTTP_OK;

        if (strcmp(method, "GET") != 0)
                return MHD_NO;
        if (strcmp(url, "/metrics") == 0) {
                body = zz_metrics_render(m);
        } else {
                body = strdup("not found: try /metrics\n");
                status = MHD_HTTP_NOT_FOUND;
        }
        if (body == NULL)
                return MHD_NO;
        resp = MHD_create_response_from_buffer(strlen(body), body,
                                               MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type",
                                "text/plain; version=0.0.4; charset=utf-8");
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

int zz_metrics_serve(zz_metrics_t *m, int port, int any, char *errstr,
                     size_t errstr_size)
{
        struct sockaddr_in addr;

        memset(&addr, 0, sizeof(addr));
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t)port);
        addr.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
        m->daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, handle,
            m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
        if (m->daemon == NULL) {
                snprintf(errstr, errstr_size,
                         "could not serve metrics on port %d", port);
                return -1;
        }
        return 0;
}
