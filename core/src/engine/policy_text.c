/*
 * policy_text.c — the human-readable explanation of a decision (see
 * policy_text.h).
 */
#include "zizhu/policy_text.h"

#include "zizhu/date.h"
#include "zizhu/money.h"

static const char *recon_zh(zz_recon_status_t st)
{
        switch (st) {
        case ZZ_RECON_OK:
                return "无差异";
        case ZZ_RECON_REFUND_DUE:
                return "应退费";
        case ZZ_RECON_RECOVERY_DUE:
                return "应追回";
        case ZZ_RECON_UNFUNDED_SUBSIDY:
                return "无资金来源的资助";
        case ZZ_RECON_NOT_ENROLLED:
                return "符合条件但未参保";
        case ZZ_RECON_ENROLLED_ELSEWHERE:
                return "异地参保";
        case ZZ_RECON_NOT_ELIGIBLE:
                return "不符合资助条件";
        case ZZ_RECON_PENDING:
                return "已参保待缴费";
        }
        return "";
}

static const char *class_word(zz_enroll_class_t c)
{
        switch (c) {
        case ZZ_CLASS_ADULT:
                return "成年居民 adult";
        case ZZ_CLASS_STUDENT_CHILD:
                return "学生儿童 student_child";
        case ZZ_CLASS_COLLEGE:
                return "大学生 college";
        }
        return "";
}

static const char *or_empty(const char *s)
{
        return s ? s : "";
}

/* prefix, the reason, and " (clause)" when the entry has one. */
static void print_reason(FILE *out, const char *prefix,
                         const zz_trace_entry_t *t)
{
        fprintf(out, "%s%s%s%s%s\n", prefix, or_empty(t->reason),
                t->clause ? " (" : "", or_empty(t->clause),
                t->clause ? ")" : "");
}

static void print_case(FILE *out, const zz_policy_t *p, const zz_case_t *c,
                       const zz_decision_t *d)
{
        char b1[32], b2[32], b3[32], day[12], ts[40];

        fprintf(out, "== 案例 / case %s ==\n", c->name ? c->name : "(unnamed)");
        fprintf(out, "政策 / policy: %s %s (%s), 年度 / insurance year %d\n",
                zz_policy_name(p), zz_policy_title(p), zz_policy_document(p),
                d->year);
        fprintf(out, "版本 / version: %s\n", d->policy_version);
        if (c->has_enrollment)
                fprintf(out,
                        "参保 / enrollment: %d 年度, %d 档 / tier %d, %s, %s, "
                        "登记 / registered %s, 地区 / region %s\n",
                        c->enrollment.year, c->enrollment.tier,
                        c->enrollment.tier,
                        class_word(c->enrollment.enroll_class),
                        c->enrollment.kind == ZZ_KIND_MID_YEAR ? "年度中途 "
                                                                 "MID_YEAR"
                                                               : "全年 ANNUAL",
                        zz_date_format(c->enrollment.registered_on, day,
                                       sizeof(day)),
                        c->enrollment.region ? c->enrollment.region : "-");
        else
                fprintf(out, "参保 / enrollment: 未参保 / none\n");
        if (c->has_payment)
                fprintf(out,
                        "缴费 / payment: %s, 应缴 contribution %s 元, "
                        "税务已资助 applied %s 元, 个人已缴 paid %s 元\n",
                        zz_ts_format(c->payment.paid_at, ts, sizeof(ts)),
                        zz_money_format(c->payment.contribution_fen, b1,
                                        sizeof(b1)),
                        zz_money_format(c->payment.subsidy_applied_fen, b2,
                                        sizeof(b2)),
                        zz_money_format(c->payment.paid_fen, b3, sizeof(b3)));
        else if (c->has_enrollment)
                fprintf(out, "缴费 / payment: 尚未缴费 / not yet paid\n");
}

/* One line (two for a matched rule) of the trace before the result:
 * timing, identities, rules, resolution. */
static void print_step(FILE *out, const zz_trace_entry_t *t)
{
        char b1[32];

        switch (t->kind) {
        case ZZ_TRACE_TIMING:
                fprintf(out, "时点 / timing: %s\n", or_empty(t->reason));
                break;
        case ZZ_TRACE_IDENTITY:
                fprintf(out, "身份 %d %s / identity %d %s: %s — %s\n",
                        t->identity + 1, t->matched ? "计入" : "不计入",
                        t->identity + 1,
                        t->matched ? "counts" : "does not count",
                        or_empty(t->detail_zh), or_empty(t->reason));
                break;
        case ZZ_TRACE_RULE:
                if (t->matched)
                        fprintf(out,
                                "规则 %s 匹配 / rule %s matched: %s → %s 元 "
                                "(%s)\n    %s\n",
                                t->rule, t->rule, or_empty(t->detail_zh),
                                zz_money_format(t->fen, b1, sizeof(b1)),
                                or_empty(t->clause), or_empty(t->reason));
                else
                        fprintf(out,
                                "规则 %s 不匹配 / rule %s not matched: %s "
                                "(%s)\n",
                                t->rule, t->rule, or_empty(t->reason),
                                or_empty(t->clause));
                break;
        case ZZ_TRACE_RESOLVE:
                print_reason(out, "合并 / resolution: ", t);
                break;
        case ZZ_TRACE_RECONCILE:
        case ZZ_TRACE_NOTE:
                break;
        }
}

static void print_result(FILE *out, const zz_decision_t *d)
{
        char b1[32], b2[32], b3[32];
        size_t i;

        fprintf(out,
                "结果 / result: 应缴 contribution %s 元, 资助 subsidy %s 元, "
                "个人应缴 individual due %s 元%s\n",
                zz_money_format(d->contribution_fen, b1, sizeof(b1)),
                zz_money_format(d->subsidy_fen, b2, sizeof(b2)),
                zz_money_format(d->individual_due_fen, b3, sizeof(b3)),
                d->eligible ? "" : " (不符合资助条件 / not eligible)");
        for (i = 0; i < d->n_funding; i++)
                fprintf(out,
                        "资金 / funding %zu: %s 支付 pays %s 元 from %s (规则 "
                        "rule %s)\n",
                        i + 1, d->funding[i].payer,
                        zz_money_format(d->funding[i].fen, b1, sizeof(b1)),
                        d->funding[i].fund, d->funding[i].rule);
        if (d->region != NULL)
                fprintf(out, "归属地区 / allocation region: %s\n", d->region);
        if (d->period != NULL)
                fprintf(out, "结算期 / settlement period: %s\n", d->period);
}

static void print_reconciliation(FILE *out, const zz_decision_t *d)
{
        char b1[32];
        size_t i;

        fprintf(out, "对账 / reconciliation: %s %s",
                recon_zh(d->reconciliation.status),
                zz_recon_status_name(d->reconciliation.status));
        if (d->reconciliation.fen != 0)
                fprintf(out, " %s 元",
                        zz_money_format(d->reconciliation.fen, b1, sizeof(b1)));
        if (d->reconciliation.route == ZZ_ROUTE_VIA_TAX)
                fprintf(out, ", 经税务退费 VIA_TAX");
        else if (d->reconciliation.route == ZZ_ROUTE_TO_PERSON)
                fprintf(out, ", 直接退给本人 TO_PERSON");
        fputc('\n', out);
        for (i = 0; i < d->n_trace; i++) {
                if (d->trace[i].kind == ZZ_TRACE_RECONCILE)
                        print_reason(out, "    ", &d->trace[i]);
        }
        for (i = 0; i < d->reconciliation.n_owed; i++)
                fprintf(out, "    由 / owed by %s: %s 元\n",
                        d->reconciliation.owed[i].payer,
                        zz_money_format(d->reconciliation.owed[i].fen, b1,
                                        sizeof(b1)));
}

static void print_notes(FILE *out, const zz_decision_t *d)
{
        size_t i;
        int notes = 0;

        for (i = 0; i < d->n_trace; i++) {
                const zz_trace_entry_t *t = &d->trace[i];

                if (t->kind != ZZ_TRACE_NOTE || t->note == NULL)
                        continue;
                if (!notes++)
                        fprintf(out, "适用的假设与决定 / assumptions and "
                                     "decisions that applied:\n");
                fprintf(out, "  [%s] %s (第 %d 行 / line %d): %s\n",
                        t->note->kind == ZZ_NOTE_ASSUMED ? "假设 ASSUMED"
                                                         : "决定 DECISION",
                        t->note->where, t->note->line, t->note->line,
                        t->note->text);
        }
}

void zz_policy_explain_text(FILE *out, const zz_policy_t *p, const zz_case_t *c,
                            const zz_decision_t *d)
{
        size_t i;

        print_case(out, p, c, d);
        for (i = 0; i < d->n_trace; i++)
                print_step(out, &d->trace[i]);
        print_result(out, d);
        print_reconciliation(out, d);
        print_notes(out, d);
        fputc('\n', out);
}
