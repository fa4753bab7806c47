/*
 * bench_common.c — clock, progress lines, policies and the simplified fold
 * shared by the zz-bench-* programs (see bench_common.h).
 */
#include "bench_common.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zz_bench_policies_s {
        zz_policy_t **items;
        size_t n;
};

static const char *zz_bench_name = "bench";

double zz_bench_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void zz_bench_set_name(const char *name)
{
        zz_bench_name = name;
}

void zz_bench_progress(const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "bench: %s: ", zz_bench_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void zz_bench_copy(char *dst, size_t dst_size, const char *s)
{
        size_t len;

        if (dst_size == 0)
                return;
        if (s == NULL)
                s = "";
        len = strlen(s);
        if (len >= dst_size)
                len = dst_size - 1;
        memcpy(dst, s, len);
        dst[len] = '\0';
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

zz_bench_policies_t *zz_bench_policies_load(const char *dir, char *errstr,
                                            size_t errstr_size)
{
        zz_bench_policies_t *ps = calloc(1, sizeof(*ps));
        DIR *d = opendir(dir);
        struct dirent *de;
        char *names[64];
        size_t n_names = 0;
        size_t i;

        if (ps == NULL || d == NULL) {
                snprintf(errstr, errstr_size,
                         "could not open policy "
                         "directory %s",
                         dir);
                free(ps);
                if (d != NULL)
                        closedir(d);
                return NULL;
        }
        while ((de = readdir(d)) != NULL && n_names < 64) {
                size_t len = strlen(de->d_name);

                if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0)
                        names[n_names++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n_names, sizeof(names[0]), name_cmp);
        ps->items = calloc(n_names + 1, sizeof(*ps->items));
        for (i = 0; i < n_names; i++) {
                char path[4096];

                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                free(names[i]);
                if (ps->items == NULL)
                        continue;
                ps->items[ps->n] =
                    zz_policy_load_file(path, errstr, errstr_size);
                if (ps->items[ps->n] != NULL)
                        ps->n++;
        }
        if (ps->n == 0) {
                if (errstr_size > 0 && errstr[0] == '\0')
                        snprintf(errstr, errstr_size, "no policy in %s", dir);
                zz_bench_policies_destroy(ps);
                return NULL;
        }
        return ps;
}

void zz_bench_policies_destroy(zz_bench_policies_t *policies)
{
        size_t i;

        if (policies == NULL)
                return;
        for (i = 0; i < policies->n; i++)
                zz_policy_destroy(policies->items[i]);
        free(policies->items);
        free(policies);
}

void zz_bench_fold_reset(zz_bench_fold_t *f, const char *person_id)
{
        f->n_ids = 0;
        f->deceased_on = ZZ_DATE_NONE;
        f->has_enrollment = 0;
        f->has_payment = 0;
        f->household[0] = '\0';
        f->residence[0] = '\0';
        f->enr_record[0] = '\0';
        zz_bench_copy(f->person_id, sizeof(f->person_id), person_id);
}

void zz_bench_fold_identity(zz_bench_fold_t *f, const char *department,
                            const char *record_id, int action,
                            const char *category, const char *attrs,
                            zz_date_t valid_from, zz_date_t valid_to,
                            const char *approving_region, const char *residence,
                            zz_ts_t reported_at, zz_date_t deceased_on)
{
        char key[80];
        size_t i;

        if (residence != NULL && residence[0] != '\0')
                zz_bench_copy(f->residence, sizeof(f->residence), residence);
        if (action == 5) { /* DECEASED: the earliest reported date */
                if (f->deceased_on == ZZ_DATE_NONE ||
                    deceased_on < f->deceased_on)
                        f->deceased_on = deceased_on;
                return;
        }
        snprintf(key, sizeof(key), "%s/%s", department, record_id);
        for (i = 0; i < f->n_ids; i++) {
                if (strcmp(f->ids[i].key, key) == 0)
                        break;
        }
        if (i == f->n_ids) {
                if (f->n_ids == ZZ_BENCH_MAX_RECORDS)
                        return;
                f->n_ids++;
                memset(&f->ids[i], 0, sizeof(f->ids[i]));
                zz_bench_copy(f->ids[i].key, sizeof(f->ids[i].key), key);
                f->ids[i].reported_at = reported_at;
                f->ids[i].valid_to = ZZ_DATE_NONE;
        }
        switch (action) {
        case 1: /* GRANT */
        case 3: /* CORRECT */
                zz_bench_copy(f->ids[i].category, sizeof(f->ids[i].category),
                              category);
                zz_bench_copy(f->ids[i].attrs, sizeof(f->ids[i].attrs), attrs);
                zz_bench_copy(f->ids[i].approving_region,
                              sizeof(f->ids[i].approving_region),
                              approving_region);
                f->ids[i].valid_from = valid_from;
                f->ids[i].valid_to = valid_to;
                break;
        case 2: /* END */
                f->ids[i].valid_to = valid_to;
                break;
        case 4: /* REVOKE */
                f->ids[i].revoked = 1;
                break;
        default:
                break;
        }
}

void zz_bench_fold_enrollment(zz_bench_fold_t *f, const char *record_id,
                              int action, const char *household, int year,
                              int tier, int enroll_class, int kind,
                              zz_date_t registered_on, const char *region,
                              const char *unit)
{
        if (action == 2) { /* CANCEL names the record it cancels */
                if (f->has_enrollment && strcmp(f->enr_record, record_id) == 0)
                        f->has_enrollment = 0;
                return;
        }
        if (f->has_enrollment && registered_on < f->enr.registered_on)
                return;
        f->has_enrollment = 1;
        zz_bench_copy(f->enr_record, sizeof(f->enr_record), record_id);
        zz_bench_copy(f->household, sizeof(f->household), household);
        zz_bench_copy(f->enr_region, sizeof(f->enr_region), region);
        zz_bench_copy(f->enr_unit, sizeof(f->enr_unit), unit);
        f->enr.year = year;
        f->enr.tier = tier;
        f->enr.enroll_class = (zz_enroll_class_t)(enroll_class - 1);
        f->enr.kind = (zz_enroll_kind_t)(kind - 1);
        f->enr.registered_on = registered_on;
        f->enr.region = NULL;
        f->enr.unit = NULL;
}

void zz_bench_fold_payment(zz_bench_fold_t *f, zz_fen_t contribution_fen,
                           zz_fen_t subsidy_applied_fen, zz_fen_t paid_fen,
                           zz_ts_t paid_at)
{
        if (f->has_payment && paid_at < f->pay.paid_at)
                return;
        f->has_payment = 1;
        f->pay.paid_at = paid_at;
        f->pay.contribution_fen = contribution_fen;
        f->pay.subsidy_applied_fen = subsidy_applied_fen;
        f->pay.paid_fen = paid_fen;
}

static const zz_policy_t *pick_policy(const zz_bench_fold_t *f,
                                      const zz_bench_policies_t *ps)
{
        size_t i, k;

        if (f->has_enrollment) {
                for (i = 0; i < ps->n; i++) {
                        if (zz_policy_year(ps->items[i]) == f->enr.year &&
                            zz_policy_in_jurisdiction(ps->items[i],
                                                      f->enr_region))
                                return ps->items[i];
                }
        }
        for (i = 0; i < ps->n; i++) {
                for (k = 0; k < f->n_ids; k++) {
                        if (f->ids[k].approving_region[0] != '\0' &&
                            zz_policy_in_jurisdiction(
                                ps->items[i], f->ids[k].approving_region))
                                return ps->items[i];
                }
                if (f->residence[0] != '\0' &&
                    zz_policy_in_jurisdiction(ps->items[i], f->residence))
                        return ps->items[i];
        }
        return NULL;
}

/* Splits "k=v;k=v" (copied into arena) into attribute pairs. */
static size_t split_attrs(const char *text, zz_arena_t *arena,
                          const zz_attr_t **out)
{
        char *copy = zz_arena_strdup(arena, text);
        zz_attr_t *attrs;
        size_t n = 0, cap = 1;
        const char *p;
        char *save = NULL;
        char *tok;

        for (p = text; *p != '\0'; p++)
                cap += *p == ';';
        attrs = zz_arena_calloc(arena, cap, sizeof(*attrs));
        *out = attrs;
        if (copy == NULL || attrs == NULL)
                return 0;
        for (tok = strtok_r(copy, ";", &save); tok != NULL && n < cap;
             tok = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(tok, '=');

                if (eq == NULL)
                        continue;
                *eq = '\0';
                attrs[n].key = tok;
                attrs[n].value = eq + 1;
                n++;
        }
        return n;
}

int zz_bench_fold_case(const zz_bench_fold_t *f,
                       const zz_bench_policies_t *policies, zz_arena_t *arena,
                       zz_case_t *out, const zz_policy_t **policy)
{
        zz_identity_t *ids = NULL;
        size_t i;

        *policy = pick_policy(f, policies);
        if (*policy == NULL)
                return -1;
        zz_case_init(out);
        out->person_id = zz_arena_strdup(arena, f->person_id);
        out->region =
            f->residence[0] ? zz_arena_strdup(arena, f->residence) : NULL;
        out->household =
            f->household[0] ? zz_arena_strdup(arena, f->household) : NULL;
        if (f->n_ids > 0) {
                ids = zz_arena_calloc(arena, f->n_ids, sizeof(*ids));
                if (ids == NULL)
                        return -1;
        }
        for (i = 0; i < f->n_ids; i++) {
                zz_identity_t *id = &ids[out->n_identities];

                if (f->ids[i].category[0] == '\0')
                        continue; /* an END or REVOKE without its GRANT */
                id->category = zz_arena_strdup(arena, f->ids[i].category);
                id->n_attrs = split_attrs(f->ids[i].attrs, arena, &id->attrs);
                id->valid_from = f->ids[i].valid_from;
                id->valid_to = f->ids[i].valid_to;
                id->reported_at = f->ids[i].reported_at;
                id->has_reported_at = 1;
                id->approving_region =
                    zz_arena_strdup(arena, f->ids[i].approving_region);
                id->action =
                    f->ids[i].revoked ? ZZ_ACTION_REVOKE : ZZ_ACTION_GRANT;
                out->n_identities++;
        }
        out->identities = ids;
        out->deceased_on = f->deceased_on;
        if (f->has_enrollment) {
                out->has_enrollment = 1;
                out->enrollment = f->enr;
                out->enrollment.region = zz_arena_strdup(arena, f->enr_region);
                out->enrollment.unit =
                    f->enr_unit[0] ? zz_arena_strdup(arena, f->enr_unit) : NULL;
        }
        if (f->has_payment) {
                out->has_payment = 1;
                out->payment = f->pay;
        }
        return 0;
}
