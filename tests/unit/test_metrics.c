/*
 * test_metrics.c — the metrics registry: families declared at start-up are
 * served before any value (HELP and TYPE, unlabelled ones at 0), a declared
 * labelled family shows no sample until its first series, and the text is
 * accepted by Prometheus's own linter (promtool check metrics) when it is
 * installed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/config.h"
#include "zizhu/metrics.h"
#include "zizhu/relay.h"
#include "zizhu/worker.h"

static zz_metrics_t *declared(void)
{
        zz_metrics_t *m = zz_metrics_new();

        cr_assert_not_null(m);
        zz_metrics_declare(m, "zz_t_total", ZZ_METRIC_COUNTER, "a counter", 0);
        zz_metrics_declare(m, "zz_t_lag", ZZ_METRIC_GAUGE, "a labelled gauge",
                           1);
        zz_metrics_declare(m, "zz_t_seconds", ZZ_METRIC_HISTOGRAM,
                           "a histogram", 0);
        return m;
}

Test(metrics, declared_families_are_served_before_any_value)
{
        zz_metrics_t *m = declared();
        char *text = zz_metrics_render(m);

        cr_assert_not_null(text);
        cr_expect(strstr(text,
                         "# HELP zz_t_total a counter\n"
                         "# TYPE zz_t_total counter\nzz_t_total 0\n") != NULL,
                  "%s", text);
        cr_expect(strstr(text, "# TYPE zz_t_lag gauge\n") != NULL, "%s", text);
        cr_expect(strstr(text, "\nzz_t_lag") == NULL, "placeholder sample: %s",
                  text);
        cr_expect(strstr(text, "zz_t_seconds_count 0\n") != NULL, "%s", text);
        free(text);
        zz_metrics_destroy(m);
}

Test(metrics, first_series_of_a_declared_family_and_help_kept)
{
        zz_metrics_t *m = declared();
        char *text;

        zz_metrics_set(m, "zz_t_lag", "other help", "topic", "t", "partition",
                       "0", 7);
        zz_metrics_add(m, "zz_t_total", "other help", NULL, NULL, NULL, NULL,
                       2);
        zz_metrics_declare(m, "zz_t_total", ZZ_METRIC_COUNTER, "again", 0);
        text = zz_metrics_render(m);
        cr_assert_not_null(text);
        cr_expect(strstr(text,
                         "# HELP zz_t_lag a labelled gauge\n"
                         "# TYPE zz_t_lag gauge\n"
                         "zz_t_lag{topic=\"t\",partition=\"0\"} 7\n") != NULL,
                  "%s", text);
        cr_expect(strstr(text, "zz_t_total 2\n") != NULL, "%s", text);
        cr_expect(strstr(text, "again") == NULL, "%s", text);
        cr_expect_eq(zz_metrics_get(m, "zz_t_total", NULL, NULL, NULL, NULL),
                     2);
        free(text);
        /* a revoked partition's lag goes; the family stays declared */
        zz_metrics_set(m, "zz_t_lag", NULL, "topic", "t", "partition", "1", 3);
        zz_metrics_remove(m, "zz_t_lag", "topic", "t", "partition", "0");
        zz_metrics_remove(m, "zz_t_lag", "topic", "t", "partition", "9");
        text = zz_metrics_render(m);
        cr_assert_not_null(text);
        cr_expect(strstr(text, "partition=\"0\"") == NULL, "%s", text);
        cr_expect(strstr(text,
                         "# TYPE zz_t_lag gauge\n"
                         "zz_t_lag{topic=\"t\",partition=\"1\"} 3\n") != NULL,
                  "%s", text);
        free(text);
        zz_metrics_destroy(m);
}

Test(metrics, worker_families_pass_promtool)
{
        zz_metrics_t *m = zz_metrics_new();
        char *text, cmd[] = "promtool check metrics >/dev/null 2>&1";
        char errstr[256];
        zz_config_t *config =
            zz_config_load("/dev/null", errstr, sizeof(errstr));
        FILE *p;
        int st;

        cr_assert_not_null(config, "%s", errstr);
        cr_assert_eq(
            zz_config_set(config, "topic_prefix=t.", errstr, sizeof(errstr)), 0,
            "%s", errstr);
        zz_worker_metrics_declare(m, config);
        zz_relay_metrics_declare(m);
        text = zz_metrics_render(m);
        cr_assert_not_null(text);
        cr_expect(strstr(text, "# TYPE zz_phase_seconds_total counter\n") !=
                  NULL);
        cr_expect(strstr(text, "zz_phase_seconds{") == NULL);
        cr_expect(strstr(text, "zz_dead_letters_total{reason=\"BAD_FRAMING\"} "
                               "0\n") != NULL);
        cr_expect(strstr(text, "zz_events_total{topic=\"t.payment\","
                               "outcome=\"duplicate\"} 0\n") != NULL,
                  "%s", text);
        if (system("command -v promtool >/dev/null 2>&1") != 0) {
                cr_log_warn("promtool not installed: lint skipped "
                            "(deploy/local/deps.sh installs it)");
        } else {
                p = popen(cmd, "w");
                cr_assert_not_null(p);
                fputs(text, p);
                st = pclose(p);
                cr_expect_eq(st, 0, "promtool check metrics failed on:\n%s",
                             text);
        }
        free(text);
        zz_worker_metrics_declare(NULL, NULL);
        zz_relay_metrics_declare(NULL);
        zz_metrics_destroy(m);
        zz_config_destroy(config);
}
