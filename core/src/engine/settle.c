/*
 * settle.c — money items of a decision, periods and the ledger arithmetic
 * of settlement (see settle.h). Pure: no I/O, no clock.
 */
#include "zizhu/settle.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"UNKNOWN",        "SUBSIDY",
                                         "REFUND_VIA_TAX", "REFUND_TO_PERSON",
                                         "RECOVERY",       "ADJUSTMENT"};

const char *zz_alloc_kind_name(zz_alloc_kind_t kind)
{
        if ((int)kind < 0 ||
            (size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
                return "UNKNOWN";
        return kind_names[kind];
}

zz_alloc_kind_t zz_alloc_kind_from_name(const char *name)
{
        size_t i;

        for (i = 1;
             name != NULL && i < sizeof(kind_names) / sizeof(kind_names[0]);
             i++)
                if (strcmp(name, kind_names[i]) == 0)
                        return (zz_alloc_kind_t)i;
        return ZZ_ALLOC_UNKNOWN;
}

static void copy(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* The category of the identity that made rule match, from the trace. */
static const char *rule_category(const zz_case_t *c, const zz_decision_t *d,
                                 const char *rule)
{
        size_t i;

        for (i = 0; rule != NULL && i < d->n_trace; i++) {
                const zz_trace_entry_t *t = &d->trace[i];

                if (t->kind == ZZ_TRACE_RULE && t->matched && t->rule != NULL &&
                    strcmp(t->rule, rule) == 0 && t->identity >= 0 &&
                    (size_t)t->identity < c->n_identities)
                        return c->identities[t->identity].category;
        }
        return NULL;
}

/* The category of a revoked identity whose department is payer (the
 * category code starts with "<payer>."), for a recovery. */
static const char *revoked_category(const zz_case_t *c, const char *payer)
{
        size_t i, len = strlen(payer);

        for (i = 0; i < c->n_identities; i++) {
                const zz_identity_t *id = &c->identities[i];

                if (id->action == ZZ_ACTION_REVOKE && id->category != NULL &&
                    strncmp(id->category, payer, len) == 0 &&
                    id->category[len] == '.')
                        return id->category;
        }
        for (i = 0; i < c->n_identities; i++)
                if (c->identities[i].action == ZZ_ACTION_REVOKE)
                        return c->identities[i].category;
        return NULL;
}

static void item_set(zz_settle_item_t *it, const zz_funding_t *f,
                     const char *region, const char *category,
                     zz_alloc_kind_t kind, zz_fen_t fen)
{
        memset(it, 0, sizeof(*it));
        copy(it->payer, sizeof(it->payer), f->payer);
        copy(it->fund, sizeof(it->fund), f->fund != NULL ? f->fund : f->payer);
        copy(it->region, sizeof(it->region), region);
        copy(it->category, sizeof(it->category),
             category != NULL ? category : "UNKNOWN");
        copy(it->rule, sizeof(it->rule), f->rule != NULL ? f->rule : "");
        it->kind = kind;
        it->fen = fen;
}

static int same_funding(const zz_funding_t *a, const zz_funding_t *b)
{
        if (a->payer == NULL || b->payer == NULL ||
            strcmp(a->payer, b->payer) != 0)
                return 0;
        if (a->rule != NULL && b->rule != NULL)
                return strcmp(a->rule, b->rule) == 0;
        return 1;
}

size_t zz_settle_items(const zz_case_t *c, const zz_decision_t *d,
                       zz_settle_item_t out[ZZ_SETTLE_ITEMS_MAX])
{
        const char *region = d->region != NULL   ? d->region
                             : c->has_enrollment ? c->enrollment.region
                                                 : "";
        int refund = d->reconciliation.status == ZZ_RECON_REFUND_DUE;
        int recovery = d->reconciliation.status == ZZ_RECON_RECOVERY_DUE;
        zz_alloc_kind_t refund_kind =
            d->reconciliation.route == ZZ_ROUTE_TO_PERSON
                ? ZZ_ALLOC_REFUND_TO_PERSON
                : ZZ_ALLOC_REFUND_VIA_TAX;
        size_t i, j, n = 0;

        if (!c->has_payment)
                return 0;
        for (i = 0; i < d->n_funding && n < ZZ_SETTLE_ITEMS_MAX; i++) {
                const zz_funding_t *f = &d->funding[i];
                const char *cat = rule_category(c, d, f->rule);
                zz_fen_t owed = 0;

                for (j = 0; refund && j < d->reconciliation.n_owed; j++)
                        if (same_funding(&d->reconciliation.owed[j], f))
                                owed += d->reconciliation.owed[j].fen;
                if (owed > f->fen)
                        owed = f->fen;
                if (f->fen - owed != 0)
                        item_set(&out[n++], f, region, cat, ZZ_ALLOC_SUBSIDY,
                                 f->fen - owed);
                if (owed != 0 && n < ZZ_SETTLE_ITEMS_MAX)
                        item_set(&out[n++], f, region, cat, refund_kind, owed);
        }
        for (j = 0; recovery && j < d->reconciliation.n_owed; j++) {
                const zz_funding_t *o = &d->reconciliation.owed[j];
                const char *cat = revoked_category(c, o->payer);

                if (o->fen == 0 || n + 2 > ZZ_SETTLE_ITEMS_MAX)
                        continue;
                item_set(&out[n++], o, region, cat, ZZ_ALLOC_SUBSIDY, o->fen);
                item_set(&out[n++], o, region, cat, ZZ_ALLOC_RECOVERY, -o->fen);
        }
        return n;
}

int zz_settle_key_cmp(const zz_settle_item_t *a, const zz_settle_item_t *b)
{
        int r = strcmp(a->payer, b->payer);

        if (r == 0)
                r = strcmp(a->fund, b->fund);
        if (r == 0)
                r = strcmp(a->region, b->region);
        if (r == 0)
                r = strcmp(a->category, b->category);
        if (r == 0)
                r = strcmp(a->rule, b->rule);
        return r;
}

static int item_cmp(const void *a, const void *b)
{
        return zz_settle_key_cmp(a, b);
}

size_t zz_settle_net(zz_settle_item_t *items, size_t n, int keep_zero)
{
        size_t i, m = 0;

        qsort(items, n, sizeof(*items), item_cmp);
        for (i = 0; i < n; i++) {
                if (m > 0 && zz_settle_key_cmp(&items[m - 1], &items[i]) == 0) {
                        items[m - 1].fen += items[i].fen;
                        continue;
                }
                items[m] = items[i];
                items[m].kind = ZZ_ALLOC_UNKNOWN;
                m++;
        }
        if (!keep_zero) {
                size_t k = 0;
                for (i = 0; i < m; i++)
                        if (items[i].fen != 0)
                                items[k++] = items[i];
                m = k;
        }
        return m;
}

/* ------------------------------------------------------------------ */
/* Periods                                                             */

char *zz_settle_period_label(const zz_policy_t *policy, int index, char *buf,
                             size_t buf_size)
{
        int n = (int)zz_policy_period_count(policy);
        int year = zz_policy_year(policy);

        if (index >= 0 && index < n) {
                if (n == 1)
                        snprintf(buf, buf_size, "%d", year);
                else
                        snprintf(buf, buf_size, "%d%s", year,
                                 zz_policy_period(policy, (size_t)index)->name);
        } else if (index >= n) {
                snprintf(buf, buf_size, "%dS%d", year, index - n + 1);
        } else {
                snprintf(buf, buf_size, "?");
        }
        return buf;
}

static int supplementary(const char *s, int n)
{
        char *end;
        long k;

        if (s[0] != 'S' && s[0] != 's')
                return -1;
        k = strtol(s + 1, &end, 10);
        if (end == s + 1 || *end != '\0' || k < 1 || k > 1000)
                return -1;
        return n + (int)k - 1;
}

int zz_settle_period_index(const zz_policy_t *policy, const char *period)
{
        int n = (int)zz_policy_period_count(policy);
        char year[16];
        size_t ylen;
        const char *rest = period;
        int i;

        if (period == NULL || period[0] == '\0')
                return -1;
        snprintf(year, sizeof(year), "%d", zz_policy_year(policy));
        ylen = strlen(year);
        if (strncmp(period, year, ylen) == 0) {
                rest = period + ylen;
                if (*rest == '-' || *rest == '.' || *rest == '_')
                        rest++;
                if (*rest == '\0')
                        return n == 1 ? 0 : -1;
        }
        for (i = 0; i < n; i++)
                if (strcasecmp(rest,
                               zz_policy_period(policy, (size_t)i)->name) == 0)
                        return i;
        return supplementary(rest, n);
}

int zz_settle_home_index(const zz_policy_t *policy, const zz_decision_t *d)
{
        size_t i;

        if (d->period == NULL)
                return -1;
        for (i = 0; i < zz_policy_period_count(policy); i++)
                if (strcmp(zz_policy_period(policy, i)->name, d->period) == 0)
                        return (int)i;
        return -1;
}

int zz_settle_jurisdiction_match(const zz_policy_t *policy,
                                 const char *jurisdiction)
{
        const char *name = zz_policy_name(policy);
        const char *dash = strrchr(name, '-');

        if (jurisdiction == NULL)
                return 0;
        if (strcasecmp(name, jurisdiction) == 0)
                return 1;
        return dash != NULL && strlen(jurisdiction) == (size_t)(dash - name) &&
               strncasecmp(name, jurisdiction, (size_t)(dash - name)) == 0;
}

/* ------------------------------------------------------------------ */
/* Per-person settlement                                               */

size_t zz_settle_person(const zz_settle_item_t *items, size_t n_items, int home,
                        const zz_settle_settled_t *settled, size_t n_settled,
                        int k, zz_settle_out_t *out, size_t cap)
{
        zz_settle_item_t net[ZZ_SETTLE_ITEMS_MAX];
        size_t i, j, n = 0, n_net;
        int first = -1;

        if (n_settled == 0) {
                if (home < 0 || home > k || n_items == 0)
                        return 0;
                if (home == k) {
                        for (i = 0; i < n_items && n < cap; i++) {
                                out[n].item = items[i];
                                out[n].adjusts_period = -1;
                                n++;
                        }
                        return n;
                }
                if (n_items > ZZ_SETTLE_ITEMS_MAX)
                        n_items = ZZ_SETTLE_ITEMS_MAX;
                memcpy(net, items, n_items * sizeof(*items));
                n_net = zz_settle_net(net, n_items, 0);
                for (i = 0; i < n_net && n < cap; i++) {
                        out[n].item = net[i];
                        out[n].item.kind = ZZ_ALLOC_ADJUSTMENT;
                        out[n].adjusts_period = home;
                        n++;
                }
                return n;
        }
        for (j = 0; j < n_settled; j++)
                if (first < 0 || settled[j].first_period < first)
                        first = settled[j].first_period;
        if (n_items > ZZ_SETTLE_ITEMS_MAX)
                n_items = ZZ_SETTLE_ITEMS_MAX;
        if (n_items > 0) /* items may be NULL when there are none */
                memcpy(net, items, n_items * sizeof(*items));
        n_net = zz_settle_net(net, n_items, 0);
        /* keys now entitled: new net minus settled */
        for (i = 0; i < n_net && n < cap; i++) {
                zz_fen_t before = 0;
                int period = first;

                for (j = 0; j < n_settled; j++)
                        if (zz_settle_key_cmp(&settled[j].key, &net[i]) == 0) {
                                before = settled[j].key.fen;
                                period = settled[j].first_period;
                        }
                if (net[i].fen == before)
                        continue;
                out[n].item = net[i];
                out[n].item.kind = ZZ_ALLOC_ADJUSTMENT;
                out[n].item.fen = net[i].fen - before;
                out[n].adjusts_period = period;
                n++;
        }
        /* keys settled before and no longer entitled */
        for (j = 0; j < n_settled && n < cap; j++) {
                int found = 0;

                for (i = 0; i < n_net; i++)
                        if (zz_settle_key_cmp(&settled[j].key, &net[i]) == 0)
                                found = 1;
                if (found || settled[j].key.fen == 0)
                        continue;
                out[n].item = settled[j].key;
                out[n].item.kind = ZZ_ALLOC_ADJUSTMENT;
                out[n].item.fen = -settled[j].key.fen;
                out[n].adjusts_period = settled[j].first_period;
                n++;
        }
        return n;
}
