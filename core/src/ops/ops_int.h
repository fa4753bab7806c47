/*
 * ops_int.h — internal to the ops layer: only the .c files of
 * core/src/ops/ may include it (it is on that layer's private include
 * path). The report writers of report.c that policy_diff.c prints with
 * too, so that both pages look and escape alike.
 */
#ifndef ZIZHU_OPS_INT_H
#define ZIZHU_OPS_INT_H

#include <stddef.h>
#include <stdio.h>

#define ZZ_OPS_MAX_BARS 40

typedef struct zz_ops_bar_s {
        char label[96];
        double a, b; /* value, and a second value (target) or -1 */
} zz_ops_bar_t;

/* A horizontal bar chart: bars with the same label add up; at most
 * ZZ_OPS_MAX_BARS bars, later labels are left out. */
typedef struct zz_ops_chart_s {
        const char *title;
        const char *unit;
        zz_ops_bar_t bars[ZZ_OPS_MAX_BARS];
        int n;
        int two;    /* draw b as an outline (target) */
        int counts; /* whole numbers (persons), not yuan */
} zz_ops_chart_t;

void zz_ops_chart_add(zz_ops_chart_t *ch, const char *label, double a,
                      double b);
/* The chart as an inline SVG figure. */
void zz_ops_svg_chart(const zz_ops_chart_t *ch, FILE *out);
/* s with <, >, & and " escaped. */
void zz_ops_html_text(const char *s, FILE *out);
/* Display width of UTF-8 s: CJK and other wide characters count 2. */
size_t zz_ops_width(const char *s);

#endif
