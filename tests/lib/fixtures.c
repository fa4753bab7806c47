/*
 * fixtures.c — valid ID numbers, and hand-written facts and commands for
 * tests that spell out every event (the settlement scenarios): each is a
 * zz_event_* struct encoded by zz_test_msgs_*.
 */
#include <stdio.h>
#include <string.h>

#include "zizhu/date.h"
#include "zizhu/event.h"
#include "zizhu/idno.h"

#include "zz_test.h"

void zz_test_idno(const char *region, const char *birth8, int seq, char out[19])
{
        char birth[16];

        if (birth8 == NULL) {
                int y, m, d;

                zz_date_to_ymd(zz_date_from_ymd(1950, 1, 1) + seq / 1000, &y,
                               &m, &d);
                snprintf(birth, sizeof(birth), "%04d%02d%02d", y, m, d);
                birth8 = birth;
        }
        snprintf(out, 19, "%.6s%.8s%03d", region, birth8, seq % 1000);
        out[17] = zz_idno_check_char(out);
        out[18] = '\0';
}

zz_date_t zz_test_date(const char *s)
{
        zz_date_t d = ZZ_DATE_NONE;

        if (s != NULL)
                zz_date_parse(s, strlen(s), &d);
        return d;
}

zz_ts_t zz_test_ts(const char *s)
{
        zz_ts_t t = 0;

        zz_ts_parse(s, strlen(s), &t);
        return t;
}

/* Splits "k=v;k=v" into at (at most 4, pointing into buf); their count. */
static size_t parse_attrs(const char *attrs, zz_event_attr_t at[4],
                          char buf[4][64])
{
        const char *p = attrs;
        size_t n = 0;

        while (p != NULL && *p != '\0' && n < 4) {
                const char *semi = strchr(p, ';');
                size_t len = semi != NULL ? (size_t)(semi - p) : strlen(p);
                char *eq;

                snprintf(buf[n], sizeof(buf[n]), "%.*s", (int)len, p);
                eq = strchr(buf[n], '=');
                if (eq != NULL) {
                        *eq = '\0';
                        at[n].key = buf[n];
                        at[n].value = eq + 1;
                        n++;
                }
                p += len + (semi != NULL ? 1 : 0);
        }
        return n;
}

void zz_test_identity(zz_test_msgs_t *ms, const char *person, const char *dept,
                      const char *rec, const char *action, const char *category,
                      const char *attrs, const char *valid_from,
                      const char *approving, const char *reported)
{
        zz_event_identity_t e;
        zz_event_attr_t at[4];
        char buf[4][64], ev[48];

        memset(&e, 0, sizeof(e));
        snprintf(ev, sizeof(ev), "t-ev-%d", ++ms->seq);
        e.event_id = ev;
        e.person_id = person;
        e.department = dept;
        e.dept_record_id = rec;
        e.action = strcmp(action, "REVOKE") == 0 ? ZZ_IDENTITY_ACTION_REVOKE
                   : strcmp(action, "END") == 0  ? ZZ_IDENTITY_ACTION_END
                                                 : ZZ_IDENTITY_ACTION_GRANT;
        e.category = category;
        e.attrs = at;
        e.attrs_count = parse_attrs(attrs, at, buf);
        e.valid_from = zz_test_date(valid_from);
        e.valid_to = ZZ_DATE_NONE;
        e.approving_region = approving;
        e.reported_at = zz_test_ts(reported);
        e.deceased_on = ZZ_DATE_NONE;
        e.channel = ZZ_CHANNEL_LIST_EXCHANGE;
        zz_test_msgs_identity(ms, &e);
}

void zz_test_enrollment(zz_test_msgs_t *ms, const char *person, int year,
                        int tier, const char *kind, const char *registered,
                        const char *region)
{
        zz_event_enrollment_t e;
        char ev[48], rec[48];

        memset(&e, 0, sizeof(e));
        snprintf(ev, sizeof(ev), "t-ev-%d", ++ms->seq);
        snprintf(rec, sizeof(rec), "EN-%d", ms->seq);
        e.event_id = ev;
        e.person_id = person;
        e.department = "NHSA";
        e.dept_record_id = rec;
        e.action = ZZ_ENROLLMENT_ACTION_REGISTER;
        e.household_id = rec;
        e.year = year;
        e.tier = tier;
        e.enrollment_class = ZZ_ENROLLMENT_CLASS_ADULT;
        e.kind = strcmp(kind, "MID_YEAR") == 0 ? ZZ_ENROLLMENT_KIND_MID_YEAR
                                               : ZZ_ENROLLMENT_KIND_ANNUAL;
        e.registered_on = zz_test_date(registered);
        e.region = region;
        e.reported_at = zz_ts_from_cst_date(e.registered_on);
        zz_test_msgs_enrollment(ms, &e);
}

void zz_test_payment(zz_test_msgs_t *ms, const char *person, int year,
                     long long contribution, long long applied,
                     long long refund, const char *paid_at)
{
        zz_event_payment_t e;
        char ev[48], rec[48];

        memset(&e, 0, sizeof(e));
        snprintf(ev, sizeof(ev), "t-ev-%d", ++ms->seq);
        snprintf(rec, sizeof(rec), "PAY-%d", ms->seq);
        e.event_id = ev;
        e.person_id = person;
        e.department = "TAX";
        e.dept_record_id = rec;
        e.kind = refund > 0 ? ZZ_PAYMENT_KIND_REFUND : ZZ_PAYMENT_KIND_PAYMENT;
        e.year = year;
        e.contribution_fen = contribution;
        e.subsidy_applied_fen = applied;
        e.paid_fen = contribution - applied;
        e.refund_fen = refund;
        e.paid_at = zz_test_ts(paid_at);
        e.receipt = rec;
        zz_test_msgs_payment(ms, &e);
}

void zz_test_close_init(zz_test_msgs_t *ms, zz_event_control_t *e, char ev[48],
                        const char *jurisdiction, const char *period,
                        const char *issued_at)
{
        memset(e, 0, sizeof(*e));
        snprintf(ev, 48, "t-close-%s-%s-%d", jurisdiction, period, ++ms->seq);
        e->event_id = ev;
        e->department = "FIN";
        e->dept_record_id = ev;
        e->command = ZZ_CONTROL_CLOSE_PERIOD;
        e->jurisdiction = jurisdiction;
        e->period = period;
        e->issued_at = zz_test_ts(issued_at);
}

void zz_test_close(zz_test_msgs_t *ms, const char *jurisdiction,
                   const char *period, const char *issued_at)
{
        zz_event_control_t e;
        char ev[48];

        zz_test_close_init(ms, &e, ev, jurisdiction, period, issued_at);
        zz_test_msgs_control(ms, &e);
}
