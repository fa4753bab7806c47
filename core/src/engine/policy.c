/*
 * policy.c — reads and checks a policy file (YAML, via libyaml's document
 * API) into the immutable form the engine evaluates with.
 *
 * Everything a locality decides is data in the file; this loader only
 * checks it. It is strict on purpose: an unknown key, a category or
 * attribute outside the vocabulary, a tier a rule refers to but the file
 * does not define, a date that is not a date — each is an error naming the
 * file and line, so that a policy officer's typo never becomes a rule that
 * silently pays nothing. ASSUMED and DECISION items (`assumed:` and
 * `decision:` fields, allowed on any section) are kept as notes that the
 * engine and `explain` show.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "zizhu/errstr.h"
#include "policy_int.h"

#define ZZ_POLICY_FORMAT 1

/*
 * Bounds on what the loader reads. libyaml's cost grows with the square of
 * the nesting depth (25 000 nested "[" take seconds, a 400 KB file over a
 * minute), and the document API builds the whole tree before we see it, so
 * the depth is checked first with the event parser. The policies in
 * policies/ nest at most 7 deep and are at most 8.1 KB: the caps leave
 * more than 4x and 15x room.
 */
#define ZZ_POLICY_MAX_DEPTH 32
#define ZZ_POLICY_MAX_BYTES (128 * 1024)

struct ld {
        const char *name;
        yaml_document_t *doc;
        zz_policy_t *p;
        char *errstr;
        size_t errstr_size;
};

/* Keys every mapping may carry besides its own. */
static const char *const k_common[] = {"assumed", "decision", "note", NULL};

static int line_of(const yaml_node_t *n)
{
        return n != NULL ? (int)n->start_mark.line + 1 : 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(struct ld *l, const yaml_node_t *n, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (l->errstr != NULL && l->errstr_size > 0)
                snprintf(l->errstr, l->errstr_size, "%s:%d: %s", l->name,
                         line_of(n), msg);
        return -1;
}

static int oom(struct ld *l, const yaml_node_t *n)
{
        return fail(l, n, "out of memory");
}

static yaml_node_t *node_at(struct ld *l, yaml_node_item_t id)
{
        return yaml_document_get_node(l->doc, id);
}

static const char *scalar_text(const yaml_node_t *n)
{
        return (const char *)n->data.scalar.value;
}

/* A plain null ("", "~", "null") counts as absent. */
static int is_null(const yaml_node_t *n)
{
        const char *s;

        if (n == NULL)
                return 1;
        if (n->type != YAML_SCALAR_NODE)
                return 0;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return 0;
        s = scalar_text(n);
        return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
               strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int in_list(const char *key, const char *const *list)
{
        size_t i;

        for (i = 0; list != NULL && list[i] != NULL; i++) {
                if (strcmp(list[i], key) == 0)
                        return 1;
        }
        return 0;
}

static size_t seq_len(const yaml_node_t *n)
{
        return (size_t)(n->data.sequence.items.top -
                        n->data.sequence.items.start);
}

static yaml_node_t *seq_item(struct ld *l, const yaml_node_t *n, size_t i)
{
        return node_at(l, n->data.sequence.items.start[i]);
}

static size_t map_len(const yaml_node_t *n)
{
        return (size_t)(n->data.mapping.pairs.top -
                        n->data.mapping.pairs.start);
}

/* Checks that n is a mapping whose keys are plain, unique and either in
 * allowed or common. With allowed == NULL any key is accepted (the caller
 * checks them). */
static int check_map(struct ld *l, const yaml_node_t *n, const char *what,
                     const char *const *allowed)
{
        size_t i, j, len;

        if (n == NULL || n->type != YAML_MAPPING_NODE)
                return fail(l, n, "%s must be a mapping", what);
        len = map_len(n);
        for (i = 0; i < len; i++) {
                yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
                const char *ks;

                if (k == NULL || k->type != YAML_SCALAR_NODE)
                        return fail(l, k, "keys of %s must be scalars", what);
                ks = scalar_text(k);
                if (allowed != NULL && !in_list(ks, allowed) &&
                    !in_list(ks, k_common))
                        return fail(l, k, "unknown key \"%s\" in %s", ks, what);
                for (j = 0; j < i; j++) {
                        yaml_node_t *k2 =
                            node_at(l, n->data.mapping.pairs.start[j].key);

                        if (k2 != NULL && k2->type == YAML_SCALAR_NODE &&
                            strcmp(scalar_text(k2), ks) == 0)
                                return fail(l, k, "duplicate key \"%s\" in %s",
                                            ks, what);
                }
        }
        return 0;
}

/* The first entry of map whose key is key, or NULL. */
static yaml_node_pair_t *pair_of(struct ld *l, const yaml_node_t *map,
                                 const char *key)
{
        size_t i, len = map_len(map);

        for (i = 0; i < len; i++) {
                yaml_node_pair_t *pair = &map->data.mapping.pairs.start[i];
                yaml_node_t *k = node_at(l, pair->key);

                if (k != NULL && k->type == YAML_SCALAR_NODE &&
                    strcmp(scalar_text(k), key) == 0)
                        return pair;
        }
        return NULL;
}

/* The value of key in map; NULL when absent or null. */
static yaml_node_t *get(struct ld *l, const yaml_node_t *map, const char *key)
{
        yaml_node_pair_t *pair = pair_of(l, map, key);
        yaml_node_t *v;

        if (pair == NULL)
                return NULL;
        v = node_at(l, pair->value);
        return is_null(v) ? NULL : v;
}

/* The key node of a mapping entry (for error lines of a missing value). */
static yaml_node_t *get_key(struct ld *l, const yaml_node_t *map,
                            const char *key)
{
        yaml_node_pair_t *pair = pair_of(l, map, key);

        return pair != NULL ? node_at(l, pair->key) : NULL;
}

static int need(struct ld *l, const yaml_node_t *map, const char *key,
                const char *what, yaml_node_t **out)
{
        yaml_node_t *v = get(l, map, key);

        if (v == NULL) {
                yaml_node_t *k = get_key(l, map, key);

                if (k != NULL)
                        return fail(l, k, "\"%s\" of %s has no value", key,
                                    what);
                return fail(l, map, "missing \"%s\" in %s", key, what);
        }
        *out = v;
        return 0;
}

/* The value of key in map into *v: 1 when there is one, 0 when there is
 * none and it is not required, -1 when a required one is missing. */
static int value_of(struct ld *l, const yaml_node_t *map, const char *key,
                    const char *what, int req, yaml_node_t **v)
{
        if (req)
                return need(l, map, key, what, v) != 0 ? -1 : 1;
        *v = get(l, map, key);
        return *v != NULL;
}

static int as_str(struct ld *l, const yaml_node_t *n, const char *key,
                  const char **out)
{
        if (n->type != YAML_SCALAR_NODE)
                return fail(l, n, "\"%s\" must be a scalar", key);
        *out = zz_arena_strdup(l->p->arena, scalar_text(n));
        if (*out == NULL)
                return oom(l, n);
        return 0;
}

/* Reads a string: required when req, else *out stays as it was. */
static int get_str(struct ld *l, const yaml_node_t *map, const char *key,
                   const char *what, int req, const char **out)
{
        yaml_node_t *v = NULL;
        int rc = value_of(l, map, key, what, req, &v);

        if (rc <= 0)
                return rc;
        return as_str(l, v, key, out);
}

static int as_long(struct ld *l, const yaml_node_t *n, const char *key,
                   long min, long max, long *out)
{
        long v;

        if (n->type != YAML_SCALAR_NODE ||
            zz_vocab_parse_long(scalar_text(n), &v) != 0)
                return fail(l, n, "\"%s\" must be an integer", key);
        if (v < min || v > max)
                return fail(l, n, "\"%s\" must be between %ld and %ld", key,
                            min, max);
        *out = v;
        return 0;
}

static int get_long(struct ld *l, const yaml_node_t *map, const char *key,
                    const char *what, int req, long min, long max, long *out)
{
        yaml_node_t *v = NULL;
        int rc = value_of(l, map, key, what, req, &v);

        if (rc <= 0)
                return rc;
        return as_long(l, v, key, min, max, out);
}

/* Every day a policy names for its insurance year Y (window, phases,
 * cutoffs, settlement covers and deadlines) lies in Y or in Y - 1, when
 * contributions are collected; a date outside, such as 2012-06-30 for
 * 2021-06-30, would silently leave people out of a window or a period
 * (issue 15). valid_until, the last day the notice is in force, may lie
 * years ahead; it is read before the year is known (year 0: no check). */
static int in_policy_years(struct ld *l, const yaml_node_t *n, const char *key,
                           zz_date_t d)
{
        int y = l->p->year;

        if (y == 0 || strcmp(key, "valid_until") == 0)
                return 0;
        if (d < zz_date_from_ymd(y - 1, 1, 1) ||
            d > zz_date_from_ymd(y, 12, 31))
                return fail(l, n,
                            "\"%s\" %s lies outside insurance year %d and "
                            "the year before it (%d-01-01 to %d-12-31)",
                            key, scalar_text(n), y, y - 1, y);
        return 0;
}

static int as_date(struct ld *l, const yaml_node_t *n, const char *key,
                   zz_date_t *out)
{
        const char *s;

        if (n->type != YAML_SCALAR_NODE)
                return fail(l, n, "\"%s\" must be a date", key);
        s = scalar_text(n);
        if (zz_date_parse(s, strlen(s), out) != 0)
                return fail(l, n, "\"%s\" is not a date (YYYY-MM-DD)", key);
        return in_policy_years(l, n, key, *out);
}

static int get_date(struct ld *l, const yaml_node_t *map, const char *key,
                    const char *what, int req, zz_date_t *out)
{
        yaml_node_t *v = NULL;
        int rc = value_of(l, map, key, what, req, &v);

        if (rc <= 0)
                return rc;
        return as_date(l, v, key, out);
}

static int get_bool(struct ld *l, const yaml_node_t *map, const char *key,
                    int *out)
{
        yaml_node_t *v = get(l, map, key);
        const char *s;

        if (v == NULL)
                return 0;
        if (v->type != YAML_SCALAR_NODE)
                return fail(l, v, "\"%s\" must be true or false", key);
        s = scalar_text(v);
        if (strcmp(s, "true") == 0)
                *out = 1;
        else if (strcmp(s, "false") == 0)
                *out = 0;
        else
                return fail(l, v, "\"%s\" must be true or false", key);
        return 0;
}

/* Reads one of names[]; *out is its index. */
static int get_enum(struct ld *l, const yaml_node_t *map, const char *key,
                    const char *what, int req, const char *const *names,
                    int *out)
{
        yaml_node_t *v = NULL;
        const char *s;
        int i;
        int rc = value_of(l, map, key, what, req, &v);

        if (rc <= 0)
                return rc;
        if (v->type != YAML_SCALAR_NODE)
                return fail(l, v, "\"%s\" must be a scalar", key);
        s = scalar_text(v);
        for (i = 0; names[i] != NULL; i++) {
                if (strcmp(names[i], s) == 0) {
                        *out = i;
                        return 0;
                }
        }
        return fail(l, v, "unknown %s \"%s\"", key, s);
}

static int need_seq(struct ld *l, const yaml_node_t *map, const char *key,
                    const char *what, int req, yaml_node_t **out)
{
        yaml_node_t *v = NULL;
        int rc;

        *out = NULL;
        rc = value_of(l, map, key, what, req, &v);
        if (rc <= 0)
                return rc;
        if (v->type != YAML_SEQUENCE_NODE)
                return fail(l, v, "\"%s\" of %s must be a list", key, what);
        if (seq_len(v) == 0)
                return fail(l, v, "\"%s\" of %s is empty", key, what);
        *out = v;
        return 0;
}

static int add_note(struct ld *l, zz_note_kind_t kind, const char *where,
                    const yaml_node_t *v, int rule, int tier)
{
        zz_policy_t *p = l->p;
        zz_policy_note_t *note;
        const char *text;

        if (v->type != YAML_SCALAR_NODE || scalar_text(v)[0] == '\0')
                return fail(l, v, "%s note of %s must be a non-empty text",
                            kind == ZZ_NOTE_ASSUMED ? "assumed" : "decision",
                            where);
        if (p->n_notes == p->cap_notes) {
                size_t cap = p->cap_notes ? p->cap_notes * 2 : 16;
                zz_policy_note_t *n2 =
                    realloc(p->notes, cap * sizeof(*p->notes));
                zz_pol_note_scope_t *s2;

                if (n2 == NULL)
                        return oom(l, v);
                p->notes = n2;
                s2 = realloc(p->note_scopes, cap * sizeof(*p->note_scopes));
                if (s2 == NULL)
                        return oom(l, v);
                p->note_scopes = s2;
                p->cap_notes = cap;
        }
        text = zz_arena_strdup(p->arena, scalar_text(v));
        where = zz_arena_strdup(p->arena, where);
        if (text == NULL || where == NULL)
                return oom(l, v);
        note = &p->notes[p->n_notes];
        note->kind = kind;
        note->where = where;
        note->text = text;
        note->line = line_of(v);
        p->note_scopes[p->n_notes].rule = rule;
        p->note_scopes[p->n_notes].tier = tier;
        p->n_notes++;
        return 0;
}

/* Collects the assumed: / decision: fields of a mapping. */
static int notes_of(struct ld *l, const yaml_node_t *map, const char *where,
                    int rule, int tier)
{
        yaml_node_t *v;

        v = get(l, map, "assumed");
        if (v != NULL && add_note(l, ZZ_NOTE_ASSUMED, where, v, rule, tier))
                return -1;
        v = get(l, map, "decision");
        if (v != NULL && add_note(l, ZZ_NOTE_DECISION, where, v, rule, tier))
                return -1;
        v = get(l, map, "note");
        if (v != NULL && v->type != YAML_SCALAR_NODE)
                return fail(l, v, "\"note\" of %s must be a text", where);
        return 0;
}

/* ------------------------------------------------------------------ */

static int digits_only(const char *s)
{
        size_t i;

        for (i = 0; s[i] != '\0'; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return 0;
        }
        return i > 0;
}

static int load_jurisdiction(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {"name", "prefixes", "clause", NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *j, *seq;
        size_t i, n;

        if (need(l, root, "jurisdiction", "the policy", &j) != 0 ||
            check_map(l, j, "jurisdiction", keys) != 0 ||
            notes_of(l, j, "jurisdiction", -1, 0) != 0)
                return -1;
        if (get_str(l, j, "name", "jurisdiction", 1, &p->jurisdiction_name) ||
            get_str(l, j, "clause", "jurisdiction", 0,
                    &p->jurisdiction_clause) ||
            need_seq(l, j, "prefixes", "jurisdiction", 1, &seq))
                return -1;
        n = seq_len(seq);
        p->prefixes = zz_arena_calloc(p->arena, n, sizeof(*p->prefixes));
        if (p->prefixes == NULL)
                return oom(l, seq);
        for (i = 0; i < n; i++) {
                yaml_node_t *it = seq_item(l, seq, i);

                if (it == NULL || it->type != YAML_SCALAR_NODE ||
                    !digits_only(scalar_text(it)) ||
                    strlen(scalar_text(it)) < 2 || strlen(scalar_text(it)) > 12)
                        return fail(l, it,
                                    "a region prefix must be 2 to 12 digits");
                if (as_str(l, it, "prefixes", &p->prefixes[i]) != 0)
                        return -1;
        }
        p->n_prefixes = n;
        return 0;
}

static int load_window(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {"from", "to", "clause", "phases",
                                           NULL};
        static const char *const pkeys[] = {"name", "from", "to", "clause",
                                            NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *w, *seq;
        size_t i, n;

        if (need(l, root, "window", "the policy", &w) != 0 ||
            check_map(l, w, "window", keys) != 0 ||
            notes_of(l, w, "window", -1, 0) != 0)
                return -1;
        if (get_date(l, w, "from", "window", 1, &p->win_from) ||
            get_date(l, w, "to", "window", 1, &p->win_to) ||
            get_str(l, w, "clause", "window", 0, &p->window_clause))
                return -1;
        if (p->win_from > p->win_to)
                return fail(l, w, "the window ends before it starts");
        if (need_seq(l, w, "phases", "window", 0, &seq) != 0)
                return -1;
        if (seq == NULL)
                return 0;
        n = seq_len(seq);
        p->phases = zz_arena_calloc(p->arena, n, sizeof(*p->phases));
        if (p->phases == NULL)
                return oom(l, seq);
        for (i = 0; i < n; i++) {
                yaml_node_t *ph = seq_item(l, seq, i);
                zz_pol_phase_t *x = &p->phases[i];
                char where[64];

                snprintf(where, sizeof(where), "window.phases[%zu]", i);
                if (check_map(l, ph, "a phase", pkeys) != 0 ||
                    notes_of(l, ph, where, -1, 0) != 0 ||
                    get_str(l, ph, "name", "a phase", 1, &x->name) ||
                    get_date(l, ph, "from", "a phase", 1, &x->from) ||
                    get_date(l, ph, "to", "a phase", 1, &x->to) ||
                    get_str(l, ph, "clause", "a phase", 0, &x->clause))
                        return -1;
                if (x->from > x->to)
                        return fail(l, ph, "phase \"%s\" ends before it starts",
                                    x->name);
                if (x->from < p->win_from || x->to > p->win_to)
                        return fail(l, ph,
                                    "phase \"%s\" lies outside the window",
                                    x->name);
        }
        p->n_phases = n;
        return 0;
}

static int load_tiers(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {"tier", "contribution_fen", "clause",
                                           NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *seq;
        size_t i, n;

        if (need_seq(l, root, "tiers", "the policy", 1, &seq) != 0)
                return -1;
        n = seq_len(seq);
        for (i = 0; i < n; i++) {
                yaml_node_t *t = seq_item(l, seq, i);
                long tier = 0, fen = 0;
                char where[32];

                if (check_map(l, t, "a tier", keys) != 0 ||
                    get_long(l, t, "tier", "a tier", 1, 1, ZZ_TIER_MAX,
                             &tier) != 0 ||
                    get_long(l, t, "contribution_fen", "a tier", 1, 0,
                             100000000L, &fen) != 0)
                        return -1;
                if (p->tier_fen[tier] >= 0)
                        return fail(l, t, "tier %ld is defined twice", tier);
                if (fen == 0)
                        return fail(l, get(l, t, "contribution_fen"),
                                    "tier %ld contributes 0 fen: every "
                                    "subsidy of that tier would be 0",
                                    tier);
                p->tier_fen[tier] = fen;
                if (get_str(l, t, "clause", "a tier", 0,
                            &p->tier_clause[tier]) != 0)
                        return -1;
                snprintf(where, sizeof(where), "tier %ld", tier);
                if (notes_of(l, t, where, -1, (int)tier) != 0)
                        return -1;
        }
        if (p->tier_fen[1] < 0)
                return fail(l, seq, "the policy defines no tier 1");
        return 0;
}

static int load_categories(struct ld *l, const yaml_node_t *root)
{
        yaml_node_t *seq;
        size_t i, n;

        if (need_seq(l, root, "categories", "the policy", 1, &seq) != 0)
                return -1;
        n = seq_len(seq);
        for (i = 0; i < n; i++) {
                yaml_node_t *it = seq_item(l, seq, i);
                int idx;

                if (it == NULL || it->type != YAML_SCALAR_NODE)
                        return fail(l, it, "a category must be a scalar");
                idx = zz_vocab_cat_index(scalar_text(it));
                if (idx < 0)
                        return fail(l, it, "unknown category \"%s\"",
                                    scalar_text(it));
                if (l->p->cat_mask & (1u << idx))
                        return fail(l, it, "category \"%s\" is listed twice",
                                    scalar_text(it));
                l->p->cat_mask |= 1u << idx;
        }
        return 0;
}

static const char *const k_strategies[] = {"max", "priority", "topup", NULL};

static int load_strategy(struct ld *l, const yaml_node_t *root,
                         yaml_node_t **tie_order)
{
        static const char *const keys[] = {"kind", "tie_order", "stages",
                                           "clause", NULL};
        static const char *const skeys[] = {"stage", "name", "clause", NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *s, *seq;
        int kind = 0;
        size_t i, j, n;

        if (need(l, root, "strategy", "the policy", &s) != 0 ||
            check_map(l, s, "strategy", keys) != 0 ||
            notes_of(l, s, "strategy", -1, 0) != 0 ||
            get_enum(l, s, "kind", "strategy", 1, k_strategies, &kind) != 0 ||
            get_str(l, s, "clause", "strategy", 0, &p->strategy_clause) != 0)
                return -1;
        p->strategy = (zz_strategy_t)kind;
        if (need_seq(l, s, "tie_order", "strategy", 0, tie_order) != 0)
                return -1;
        if (*tie_order != NULL && p->strategy != ZZ_STRAT_MAX)
                return fail(l, *tie_order,
                            "\"tie_order\" applies to strategy max only");
        if (need_seq(l, s, "stages", "strategy", 0, &seq) != 0)
                return -1;
        if (p->strategy != ZZ_STRAT_TOPUP) {
                if (seq != NULL)
                        return fail(l, seq,
                                    "\"stages\" applies to strategy topup "
                                    "only");
                return 0;
        }
        if (seq == NULL)
                return fail(l, s, "strategy topup needs \"stages\"");
        n = seq_len(seq);
        if (n > ZZ_FUNDING_MAX)
                return fail(l, seq, "at most %d stages", ZZ_FUNDING_MAX);
        p->stages = zz_arena_calloc(p->arena, n, sizeof(*p->stages));
        if (p->stages == NULL)
                return oom(l, seq);
        for (i = 0; i < n; i++) {
                yaml_node_t *st = seq_item(l, seq, i);
                zz_pol_stage_t *x = &p->stages[i];
                long num = 0;
                char where[32];

                if (check_map(l, st, "a stage", skeys) != 0 ||
                    get_long(l, st, "stage", "a stage", 1, 1, 99, &num) ||
                    get_str(l, st, "name", "a stage", 1, &x->name) ||
                    get_str(l, st, "clause", "a stage", 0, &x->clause))
                        return -1;
                x->stage = (int)num;
                for (j = 0; j < i; j++) {
                        if (p->stages[j].stage >= x->stage)
                                return fail(l, st,
                                            "stages must be numbered in "
                                            "increasing order");
                }
                snprintf(where, sizeof(where), "stage %ld", num);
                if (notes_of(l, st, where, -1, 0) != 0)
                        return -1;
        }
        p->n_stages = n;
        return 0;
}

static int parse_mmdd(const char *s, int *m, int *d)
{
        if (strlen(s) != 5 || s[2] != '-' || s[0] < '0' || s[0] > '9' ||
            s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '9' ||
            s[4] < '0' || s[4] > '9')
                return -1;
        *m = (s[0] - '0') * 10 + (s[1] - '0');
        *d = (s[3] - '0') * 10 + (s[4] - '0');
        return zz_date_valid_ymd(2000, *m, *d) ? 0 : -1;
}

static int load_timing(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {
            "identity_day",   "cutoff",    "death_cutoff",
            "next_year_from", "late_flag", "count_started_after_payment",
            "clause",         NULL};
        static const char *const iddays[] = {"payment", "registration",
                                             "cutoff", NULL};
        static const char *const lates[] = {"via_tax", "to_person", "none",
                                            NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *t, *v;
        int idday = 0, late = 0;

        if (need(l, root, "timing", "the policy", &t) != 0 ||
            check_map(l, t, "timing", keys) != 0 ||
            notes_of(l, t, "timing", -1, 0) != 0 ||
            get_enum(l, t, "identity_day", "timing", 1, iddays, &idday) ||
            get_enum(l, t, "late_flag", "timing", 1, lates, &late) ||
            get_date(l, t, "cutoff", "timing", 0, &p->cutoff) ||
            get_date(l, t, "death_cutoff", "timing", 0, &p->death_cutoff) ||
            get_bool(l, t, "count_started_after_payment",
                     &p->count_started_after_payment) ||
            get_str(l, t, "clause", "timing", 0, &p->timing_clause))
                return -1;
        p->idday = (zz_idday_t)idday;
        p->late = (zz_late_t)late;
        if (p->idday == ZZ_IDDAY_CUTOFF && p->cutoff == ZZ_DATE_NONE)
                return fail(l, t, "identity_day cutoff needs \"cutoff\"");
        if (p->idday != ZZ_IDDAY_CUTOFF && p->cutoff != ZZ_DATE_NONE)
                return fail(l, get(l, t, "cutoff"),
                            "\"cutoff\" applies to identity_day cutoff only");
        if (p->count_started_after_payment && p->late == ZZ_LATE_NONE)
                return fail(l, t,
                            "count_started_after_payment needs a late_flag "
                            "route");
        v = get(l, t, "next_year_from");
        if (v != NULL) {
                if (v->type != YAML_SCALAR_NODE ||
                    parse_mmdd(scalar_text(v), &p->next_year_month,
                               &p->next_year_day) != 0)
                        return fail(l, v,
                                    "\"next_year_from\" must be a day of "
                                    "the year as MM-DD");
        }
        return 0;
}

static int load_allocation(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {"region", "clause", NULL};
        static const char *const regions[] = {"enrollment", "county",
                                              "approving", NULL};
        yaml_node_t *a;
        int region = 0;

        if (need(l, root, "allocation", "the policy", &a) != 0 ||
            check_map(l, a, "allocation", keys) != 0 ||
            notes_of(l, a, "allocation", -1, 0) != 0 ||
            get_enum(l, a, "region", "allocation", 1, regions, &region) ||
            get_str(l, a, "clause", "allocation", 0, &l->p->alloc_clause))
                return -1;
        l->p->alloc = (zz_alloc_t)region;
        return 0;
}

static int load_household(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {"same_tier", "on_mismatch", "clause",
                                           NULL};
        static const char *const acts[] = {"report", NULL};
        yaml_node_t *h = get(l, root, "household");
        int act = 0;

        if (h == NULL)
                return 0;
        if (check_map(l, h, "household", keys) != 0 ||
            notes_of(l, h, "household", -1, 0) != 0 ||
            get_bool(l, h, "same_tier", &l->p->household_same_tier) ||
            get_enum(l, h, "on_mismatch", "household", 0, acts, &act) ||
            get_str(l, h, "clause", "household", 0, &l->p->household_clause))
                return -1;
        return 0;
}

/* One registration range a settlement period covers. */
static int load_cover(struct ld *l, const yaml_node_t *c, zz_pol_cover_t *cv)
{
        static const char *const ckeys[] = {"kind", "registered_from",
                                            "registered_to", NULL};
        int kind = -1;

        cv->from = ZZ_DATE_NONE;
        cv->to = ZZ_DATE_NONE;
        if (check_map(l, c, "a period's cover", ckeys) ||
            get_enum(l, c, "kind", "a period's cover", 0, zz_vocab_enroll_kinds,
                     &kind) ||
            get_date(l, c, "registered_from", "a period's cover", 0,
                     &cv->from) ||
            get_date(l, c, "registered_to", "a period's cover", 0, &cv->to))
                return -1;
        cv->kind = kind;
        if (cv->from != ZZ_DATE_NONE && cv->to != ZZ_DATE_NONE &&
            cv->from > cv->to)
                return fail(l, c, "a cover ends before it starts");
        return 0;
}

/* Settlement period i (named once: the earlier ones are loaded). */
static int load_period(struct ld *l, const yaml_node_t *pe, size_t i)
{
        static const char *const pkeys[] = {
            "name",        "covers",      "refunds_to_person",
            "close_after", "transfer_by", "clause",
            NULL};
        zz_policy_t *p = l->p;
        zz_pol_period_t *x = &p->periods[i];
        yaml_node_t *cs;
        char where[64];
        size_t j;

        x->pub.transfer_by = ZZ_DATE_NONE;
        if (check_map(l, pe, "a settlement period", pkeys) != 0 ||
            get_str(l, pe, "name", "a settlement period", 1, &x->pub.name) ||
            get_date(l, pe, "close_after", "a settlement period", 1,
                     &x->pub.close_after) ||
            get_date(l, pe, "transfer_by", "a settlement period", 0,
                     &x->pub.transfer_by) ||
            get_str(l, pe, "clause", "a settlement period", 0,
                    &x->pub.clause) ||
            get_bool(l, pe, "refunds_to_person", &x->refunds_to_person) ||
            need_seq(l, pe, "covers", "a settlement period", 1, &cs))
                return -1;
        for (j = 0; j < i; j++) {
                if (strcmp(p->periods[j].pub.name, x->pub.name) == 0)
                        return fail(l, pe,
                                    "settlement period \"%s\" is defined "
                                    "twice",
                                    x->pub.name);
        }
        if (x->pub.transfer_by != ZZ_DATE_NONE &&
            x->pub.transfer_by < x->pub.close_after)
                return fail(l, pe, "\"transfer_by\" is before \"close_after\"");
        snprintf(where, sizeof(where), "settlement period %s", x->pub.name);
        if (notes_of(l, pe, where, -1, 0) != 0)
                return -1;
        x->n_covers = seq_len(cs);
        x->covers = zz_arena_calloc(p->arena, x->n_covers, sizeof(*x->covers));
        if (x->covers == NULL)
                return oom(l, cs);
        for (j = 0; j < x->n_covers; j++) {
                if (load_cover(l, seq_item(l, cs, j), &x->covers[j]) != 0)
                        return -1;
        }
        return 0;
}

static int load_periods(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {"periods", NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *s, *seq;
        size_t i, n;

        if (need(l, root, "settlement", "the policy", &s) != 0 ||
            check_map(l, s, "settlement", keys) != 0 ||
            notes_of(l, s, "settlement", -1, 0) != 0 ||
            need_seq(l, s, "periods", "settlement", 1, &seq) != 0)
                return -1;
        n = seq_len(seq);
        p->periods = zz_arena_calloc(p->arena, n, sizeof(*p->periods));
        if (p->periods == NULL)
                return oom(l, seq);
        for (i = 0; i < n; i++) {
                if (load_period(l, seq_item(l, seq, i), i) != 0)
                        return -1;
        }
        p->n_periods = n;
        return 0;
}

static int load_targets(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {"total", "clause", "villages", NULL};
        static const char *const vkeys[] = {"region", "name", "persons", NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *t = get(l, root, "targets"), *seq;
        long total = -1;
        int64_t sum = 0;
        size_t i, j, n;

        if (t == NULL)
                return 0;
        if (check_map(l, t, "targets", keys) != 0 ||
            notes_of(l, t, "targets", -1, 0) != 0 ||
            get_long(l, t, "total", "targets", 0, 0, 1000000000L, &total) ||
            need_seq(l, t, "villages", "targets", 1, &seq))
                return -1;
        n = seq_len(seq);
        p->targets = zz_arena_calloc(p->arena, n, sizeof(*p->targets));
        if (p->targets == NULL)
                return oom(l, seq);
        for (i = 0; i < n; i++) {
                yaml_node_t *v = seq_item(l, seq, i);
                zz_policy_target_t *x = &p->targets[i];
                long persons;

                if (check_map(l, v, "a village target", vkeys) != 0 ||
                    get_str(l, v, "region", "a village target", 1,
                            &x->region) ||
                    get_str(l, v, "name", "a village target", 1, &x->name) ||
                    get_long(l, v, "persons", "a village target", 1, 0,
                             100000000L, &persons))
                        return -1;
                if (!digits_only(x->region) ||
                    !zz_policy_in_jurisdiction(p, x->region))
                        return fail(l, v,
                                    "target region \"%s\" lies outside the "
                                    "jurisdiction",
                                    x->region);
                for (j = 0; j < i; j++) {
                        if (strcmp(p->targets[j].region, x->region) == 0)
                                return fail(l, v,
                                            "target region \"%s\" is listed "
                                            "twice",
                                            x->region);
                }
                x->persons = persons;
                sum += persons;
        }
        p->n_targets = n;
        if (total >= 0 && sum != total)
                return fail(l, t,
                            "village targets add up to %lld, not the total "
                            "%ld",
                            (long long)sum, total);
        return 0;
}

/* ---- rules ---- */

static int cond_value(struct ld *l, const zz_vocab_attr_t *def,
                      const yaml_node_t *n, const char **out)
{
        if (n == NULL || n->type != YAML_SCALAR_NODE)
                return fail(l, n, "a value of \"%s\" must be a scalar",
                            def->key);
        if (!zz_vocab_attr_value_ok(def, scalar_text(n)))
                return fail(l, n, "\"%s\" cannot be \"%s\"", def->key,
                            scalar_text(n));
        *out = zz_arena_strdup(l->p->arena, scalar_text(n));
        return *out != NULL ? 0 : oom(l, n);
}

static int cond_values(struct ld *l, const zz_vocab_attr_t *def,
                       const yaml_node_t *seq, zz_pol_cond_t *c)
{
        size_t i, n;

        if (seq->type != YAML_SEQUENCE_NODE)
                return fail(l, seq, "values of \"%s\" must be a list",
                            def->key);
        n = seq_len(seq);
        if (n == 0 || n > ZZ_COND_VALUES)
                return fail(l, seq, "\"%s\" needs 1 to %d values", def->key,
                            ZZ_COND_VALUES);
        for (i = 0; i < n; i++) {
                if (cond_value(l, def, seq_item(l, seq, i), &c->values[i]))
                        return -1;
        }
        c->n_values = n;
        return 0;
}

static int cond_bound(struct ld *l, const zz_vocab_attr_t *def,
                      const yaml_node_t *n, long *out)
{
        return as_long(l, n, def->key, def->min, def->max, out);
}

static int load_cond(struct ld *l, const zz_vocab_attr_t *def,
                     const yaml_node_t *n, zz_pol_cond_t *c)
{
        static const char *const mkeys[] = {"min", "max", "not_between",
                                            "not_in", NULL};
        yaml_node_t *v;

        c->attr = def->key;
        if (n == NULL)
                return fail(l, n, "\"%s\" has no condition", def->key);
        if (n->type == YAML_SCALAR_NODE) {
                c->op = ZZ_COND_IN;
                c->n_values = 1;
                return cond_value(l, def, n, &c->values[0]);
        }
        if (n->type == YAML_SEQUENCE_NODE) {
                c->op = ZZ_COND_IN;
                return cond_values(l, def, n, c);
        }
        if (check_map(l, n, "a condition", mkeys) != 0)
                return -1;
        if (map_len(n) != 1 &&
            !(map_len(n) == 2 && get(l, n, "min") && get(l, n, "max")))
                return fail(l, n,
                            "a condition is {min, max}, {not_between} or "
                            "{not_in}");
        if ((v = get(l, n, "not_in")) != NULL) {
                c->op = ZZ_COND_NOT_IN;
                return cond_values(l, def, v, c);
        }
        if (def->type != ZZ_VOCAB_INT)
                return fail(l, n,
                            "\"%s\" is not a number: use a value or a "
                            "list",
                            def->key);
        if ((v = get(l, n, "not_between")) != NULL) {
                c->op = ZZ_COND_NOT_BETWEEN;
                if (v->type != YAML_SEQUENCE_NODE || seq_len(v) != 2)
                        return fail(l, v, "\"not_between\" needs [low, high]");
                if (cond_bound(l, def, seq_item(l, v, 0), &c->min) ||
                    cond_bound(l, def, seq_item(l, v, 1), &c->max))
                        return -1;
        } else {
                c->op = ZZ_COND_RANGE;
                if ((v = get(l, n, "min")) == NULL ||
                    cond_bound(l, def, v, &c->min) ||
                    (v = get(l, n, "max")) == NULL ||
                    cond_bound(l, def, v, &c->max))
                        return v == NULL ? fail(l, n,
                                                "a range needs min and "
                                                "max")
                                         : -1;
        }
        if (c->min > c->max)
                return fail(l, n, "the range of \"%s\" is empty", def->key);
        return 0;
}

/* 1 when condition c admits every value the attribute can take, so that
 * all it does is drop identities without the attribute (issue 15: TN-T1f
 * listed relation [self, child] and paid 0 to records that gave none). A
 * free-text attribute has no list of values. */
static int covers_every_value(const zz_vocab_attr_t *def,
                              const zz_pol_cond_t *c)
{
        size_t i, j;

        switch (c->op) {
        case ZZ_COND_RANGE:
                return def->type == ZZ_VOCAB_INT && c->min <= def->min &&
                       c->max >= def->max;
        case ZZ_COND_IN:
                if (def->type == ZZ_VOCAB_BOOL)
                        return c->n_values == 2 &&
                               strcmp(c->values[0], c->values[1]) != 0;
                if (def->type == ZZ_VOCAB_INT) {
                        long v;

                        for (v = def->min; v <= def->max; v++) {
                                char buf[24];

                                snprintf(buf, sizeof(buf), "%ld", v);
                                for (j = 0; j < c->n_values; j++) {
                                        if (strcmp(buf, c->values[j]) == 0)
                                                break;
                                }
                                if (j == c->n_values)
                                        return 0;
                        }
                        return 1;
                }
                if (def->type != ZZ_VOCAB_ENUM)
                        return 0;
                for (i = 0; def->values[i] != NULL; i++) {
                        for (j = 0; j < c->n_values; j++) {
                                if (strcmp(def->values[i], c->values[j]) == 0)
                                        break;
                        }
                        if (j == c->n_values)
                                return 0;
                }
                return 1;
        case ZZ_COND_NOT_IN:
        case ZZ_COND_NOT_BETWEEN:
                break;
        }
        return 0;
}

/* Reads the attribute conditions of a who entry (or of its unless:). */
static int load_conds(struct ld *l, const zz_vocab_cat_t *cat,
                      const yaml_node_t *map, int skip_fixed,
                      zz_pol_cond_t **out, size_t *n_out)
{
        size_t i, n = 0, len = map_len(map);
        zz_pol_cond_t *conds;

        conds = zz_arena_calloc(l->p->arena, len ? len : 1, sizeof(*conds));
        if (conds == NULL)
                return oom(l, map);
        for (i = 0; i < len; i++) {
                yaml_node_t *k =
                    node_at(l, map->data.mapping.pairs.start[i].key);
                yaml_node_t *v =
                    node_at(l, map->data.mapping.pairs.start[i].value);
                const char *ks = scalar_text(k);
                const zz_vocab_attr_t *def;

                if (skip_fixed &&
                    (strcmp(ks, "category") == 0 || strcmp(ks, "label") == 0 ||
                     strcmp(ks, "unless") == 0 || in_list(ks, k_common)))
                        continue;
                def = zz_vocab_attr(cat, ks);
                if (def == NULL)
                        return fail(l, k, "category %s has no attribute \"%s\"",
                                    cat->code, ks);
                if (is_null(v))
                        return fail(l, k, "\"%s\" has no condition", ks);
                if (load_cond(l, def, v, &conds[n]) != 0)
                        return -1;
                conds[n].line = line_of(k);
                if (skip_fixed && covers_every_value(def, &conds[n]))
                        return fail(l, k,
                                    "the condition on \"%s\" lists every "
                                    "value %s takes: it admits every %s "
                                    "identity that has it and drops only "
                                    "those without it; remove the condition",
                                    ks, ks, cat->code);
                n++;
        }
        *out = conds;
        *n_out = n;
        return 0;
}

static int load_who(struct ld *l, const yaml_node_t *n, zz_pol_who_t *w)
{
        const zz_vocab_cat_t *cat;
        yaml_node_t *u;
        const char *code = NULL;

        w->line = line_of(n);
        if (check_map(l, n, "a who entry", NULL) != 0 ||
            get_str(l, n, "category", "a who entry", 1, &code) != 0 ||
            get_str(l, n, "label", "a who entry", 0, &w->label) != 0)
                return -1;
        w->cat = zz_vocab_cat_index(code);
        if (w->cat < 0)
                return fail(l, get(l, n, "category"), "unknown category \"%s\"",
                            code);
        if (!(l->p->cat_mask & (1u << w->cat)))
                return fail(l, get(l, n, "category"),
                            "category \"%s\" is not in the policy's "
                            "categories",
                            code);
        cat = zz_vocab_cat(w->cat);
        w->category = cat->code;
        if (load_conds(l, cat, n, 1, &w->conds, &w->n_conds) != 0)
                return -1;
        u = get(l, n, "unless");
        if (u != NULL) {
                if (check_map(l, u, "unless", NULL) != 0 ||
                    load_conds(l, cat, u, 0, &w->unless, &w->n_unless) != 0)
                        return -1;
                if (w->n_unless == 0)
                        return fail(l, u, "\"unless\" is empty");
        }
        return 0;
}

static int parse_percent(const char *s, int64_t *bp)
{
        int64_t whole = 0, frac = 0;
        size_t i = 0, nd = 0, nf = 0;

        for (; s[i] >= '0' && s[i] <= '9'; i++, nd++) {
                if (nd >= 3)
                        return -1;
                whole = whole * 10 + (s[i] - '0');
        }
        if (nd == 0)
                return -1;
        if (s[i] == '.') {
                for (i++; s[i] >= '0' && s[i] <= '9'; i++, nf++) {
                        if (nf >= 2)
                                return -1;
                        frac = frac * 10 + (s[i] - '0');
                }
                if (nf == 0)
                        return -1;
                if (nf == 1)
                        frac *= 10;
        }
        if (s[i] != '\0')
                return -1;
        *bp = whole * 100 + frac;
        return *bp <= 10000 ? 0 : -1;
}

static int load_amount(struct ld *l, const yaml_node_t *n, zz_pol_amount_t *a,
                       int allow_by_tier)
{
        static const char *const keys[] = {"full_tier", "percent_of_tier",
                                           "percent",   "fixed_fen",
                                           "by_tier",   NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *v;
        long x = 0;
        int forms = 0;

        if (check_map(l, n, "an amount", keys) != 0)
                return -1;
        forms = (get(l, n, "full_tier") != NULL) +
                (get(l, n, "percent_of_tier") != NULL) +
                (get(l, n, "fixed_fen") != NULL) +
                (get(l, n, "by_tier") != NULL);
        if (forms != 1)
                return fail(l, n,
                            "an amount is one of full_tier, percent_of_tier, "
                            "fixed_fen or by_tier");
        if (get(l, n, "percent") != NULL &&
            get(l, n, "percent_of_tier") == NULL)
                return fail(l, get(l, n, "percent"),
                            "\"percent\" goes with \"percent_of_tier\"");
        if (get(l, n, "by_tier") != NULL) {
                if (!allow_by_tier)
                        return fail(l, n, "\"by_tier\" cannot be nested");
                a->kind = ZZ_AMT_NONE; /* the caller reads by_tier */
                return 0;
        }
        if (get(l, n, "fixed_fen") != NULL) {
                if (get_long(l, n, "fixed_fen", "an amount", 1, 0, 100000000L,
                             &x) != 0)
                        return -1;
                a->kind = ZZ_AMT_FIXED;
                a->fen = x;
                return 0;
        }
        v = get(l, n, "full_tier");
        a->kind = ZZ_AMT_FULL_TIER;
        if (v == NULL) {
                v = get(l, n, "percent_of_tier");
                a->kind = ZZ_AMT_PCT;
        }
        if (as_long(l, v, "tier", 1, ZZ_TIER_MAX, &x) != 0)
                return -1;
        if (p->tier_fen[x] < 0)
                return fail(l, v, "the policy defines no tier %ld", x);
        a->tier = (int)x;
        if (a->kind == ZZ_AMT_PCT) {
                yaml_node_t *pc;

                if (need(l, n, "percent", "an amount", &pc) != 0)
                        return -1;
                if (pc->type != YAML_SCALAR_NODE ||
                    parse_percent(scalar_text(pc), &a->bp) != 0)
                        return fail(l, pc,
                                    "\"percent\" must be a number from 0 to "
                                    "100 with at most two decimals");
                if (a->bp == 0)
                        return fail(l, pc,
                                    "\"percent\" 0 pays 0 fen: the rule "
                                    "would match and subsidize nothing");
        }
        return 0;
}

static int load_by_tier(struct ld *l, const yaml_node_t *n, zz_pol_rule_t *r)
{
        zz_policy_t *p = l->p;
        size_t i, len;
        int t;

        if (check_map(l, n, "by_tier", NULL) != 0)
                return -1;
        len = map_len(n);
        for (i = 0; i < len; i++) {
                yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
                yaml_node_t *v =
                    node_at(l, n->data.mapping.pairs.start[i].value);
                long tier = 0;

                if (in_list(scalar_text(k), k_common))
                        continue;
                if (as_long(l, k, "tier", 1, ZZ_TIER_MAX, &tier) != 0)
                        return -1;
                if (p->tier_fen[tier] < 0)
                        return fail(l, k, "the policy defines no tier %ld",
                                    tier);
                if (is_null(v))
                        return fail(l, k, "tier %ld has no amount", tier);
                if (load_amount(l, v, &r->by_tier[tier], 0) != 0)
                        return -1;
        }
        for (t = 1; t <= ZZ_TIER_MAX; t++) {
                if (p->tier_fen[t] >= 0 && r->by_tier[t].kind == ZZ_AMT_NONE)
                        return fail(l, n,
                                    "\"by_tier\" gives no amount for "
                                    "tier %d",
                                    t);
        }
        r->has_by_tier = 1;
        return 0;
}

static int load_enrolled(struct ld *l, const yaml_node_t *n, zz_pol_rule_t *r)
{
        static const char *const keys[] = {"class", "tier", NULL};
        yaml_node_t *seq;
        size_t i;

        if (check_map(l, n, "enrolled", keys) != 0)
                return -1;
        if (need_seq(l, n, "class", "enrolled", 0, &seq) != 0)
                return -1;
        for (i = 0; seq != NULL && i < seq_len(seq); i++) {
                yaml_node_t *it = seq_item(l, seq, i);
                int j, found = -1;

                if (it == NULL || it->type != YAML_SCALAR_NODE)
                        return fail(l, it, "a class must be a scalar");
                for (j = 0; zz_vocab_enroll_classes[j] != NULL; j++) {
                        if (strcmp(zz_vocab_enroll_classes[j],
                                   scalar_text(it)) == 0)
                                found = j;
                }
                if (found < 0)
                        return fail(l, it, "unknown enrollment class \"%s\"",
                                    scalar_text(it));
                r->class_mask |= 1u << found;
        }
        if (need_seq(l, n, "tier", "enrolled", 0, &seq) != 0)
                return -1;
        for (i = 0; seq != NULL && i < seq_len(seq); i++) {
                yaml_node_t *it = seq_item(l, seq, i);
                long tier = 0;

                if (as_long(l, it, "tier", 1, ZZ_TIER_MAX, &tier) != 0)
                        return -1;
                if (l->p->tier_fen[tier] < 0)
                        return fail(l, it, "the policy defines no tier %ld",
                                    tier);
                r->tier_mask |= 1u << tier;
        }
        if (r->class_mask == 0 && r->tier_mask == 0)
                return fail(l, n, "\"enrolled\" names no class and no tier");
        return 0;
}

static int valid_rule_id(const char *s)
{
        size_t i;

        for (i = 0; s[i] != '\0'; i++) {
                char ch = s[i];

                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
                      ch == '.'))
                        return 0;
        }
        return i > 0 && i <= 40;
}

static int load_rule(struct ld *l, const yaml_node_t *n, size_t index)
{
        static const char *const keys[] = {
            "id",     "clause", "label", "who",   "enrolled",
            "amount", "payer",  "fund",  "stage", NULL};
        zz_policy_t *p = l->p;
        zz_pol_rule_t *r = &p->rules[index];
        yaml_node_t *seq, *v, *amt;
        char where[64];
        size_t i;

        r->line = line_of(n);
        if (check_map(l, n, "a rule", keys) != 0 ||
            get_str(l, n, "id", "a rule", 1, &r->id) != 0)
                return -1;
        if (!valid_rule_id(r->id))
                return fail(l, get(l, n, "id"),
                            "a rule id is 1 to 40 letters, digits, '-', '_' "
                            "or '.'");
        for (i = 0; i < index; i++) {
                if (strcmp(p->rules[i].id, r->id) == 0)
                        return fail(l, get(l, n, "id"),
                                    "rule id \"%s\" is used twice", r->id);
        }
        snprintf(where, sizeof(where), "rule %s", r->id);
        if (notes_of(l, n, where, (int)index, 0) != 0 ||
            get_str(l, n, "clause", where, 1, &r->clause) ||
            get_str(l, n, "label", where, 0, &r->label) ||
            get_str(l, n, "payer", where, 1, &r->payer) ||
            get_str(l, n, "fund", where, 1, &r->fund) ||
            need_seq(l, n, "who", where, 1, &seq))
                return -1;
        if (!zz_vocab_payer_known(r->payer))
                return fail(l, get(l, n, "payer"), "unknown payer \"%s\"",
                            r->payer);
        if (!zz_vocab_payer_known(r->fund))
                return fail(l, get(l, n, "fund"), "unknown fund \"%s\"",
                            r->fund);
        r->n_who = seq_len(seq);
        r->who = zz_arena_calloc(p->arena, r->n_who, sizeof(*r->who));
        if (r->who == NULL)
                return oom(l, seq);
        for (i = 0; i < r->n_who; i++) {
                if (load_who(l, seq_item(l, seq, i), &r->who[i]) != 0)
                        return -1;
        }
        v = get(l, n, "enrolled");
        if (v != NULL && load_enrolled(l, v, r) != 0)
                return -1;
        if (need(l, n, "amount", where, &amt) != 0 ||
            load_amount(l, amt, &r->amount, 1) != 0)
                return -1;
        if (r->amount.kind == ZZ_AMT_NONE &&
            load_by_tier(l, get(l, amt, "by_tier"), r) != 0)
                return -1;
        v = get(l, n, "stage");
        if (p->strategy == ZZ_STRAT_TOPUP) {
                long stage;
                int found = 0;

                if (get_long(l, n, "stage", where, 1, 1, 99, &stage) != 0)
                        return -1;
                for (i = 0; i < p->n_stages; i++) {
                        if (p->stages[i].stage == stage)
                                found = 1;
                }
                if (!found)
                        return fail(l, v,
                                    "stage %ld is not among the "
                                    "strategy's stages",
                                    stage);
                r->stage = (int)stage;
        } else if (v != NULL) {
                return fail(l, v, "\"stage\" applies to strategy topup only");
        }
        r->tie_rank = (int)index;
        return 0;
}

static int load_rules(struct ld *l, const yaml_node_t *root,
                      const yaml_node_t *tie_order)
{
        zz_policy_t *p = l->p;
        yaml_node_t *seq;
        size_t i, j, n;

        if (need_seq(l, root, "rules", "the policy", 1, &seq) != 0)
                return -1;
        n = seq_len(seq);
        p->rules = zz_arena_calloc(p->arena, n, sizeof(*p->rules));
        if (p->rules == NULL)
                return oom(l, seq);
        for (i = 0; i < n; i++) {
                if (load_rule(l, seq_item(l, seq, i), i) != 0)
                        return -1;
                p->n_rules = i + 1;
        }
        if (tie_order == NULL)
                return 0;
        /* A declared tie order ranks the rules it lists first, in its
         * order; the others follow in file order. */
        for (i = 0; i < n; i++)
                p->rules[i].tie_rank = (int)(n + i);
        for (i = 0; i < seq_len(tie_order); i++) {
                yaml_node_t *it = seq_item(l, tie_order, i);
                int found = 0;

                if (it == NULL || it->type != YAML_SCALAR_NODE)
                        return fail(l, it, "tie_order lists rule ids");
                for (j = 0; j < n; j++) {
                        if (strcmp(p->rules[j].id, scalar_text(it)) != 0)
                                continue;
                        if (p->rules[j].tie_rank < (int)n)
                                return fail(l, it,
                                            "rule \"%s\" is twice in "
                                            "tie_order",
                                            scalar_text(it));
                        p->rules[j].tie_rank = (int)i;
                        found = 1;
                }
                if (!found)
                        return fail(l, it,
                                    "tie_order names unknown rule "
                                    "\"%s\"",
                                    scalar_text(it));
        }
        p->has_tie_order = 1;
        return 0;
}

/* Sections the engine does not compute but that the file documents:
 * provisions (reports and procedures), not_covered, free notes. */
static int load_extras(struct ld *l, const yaml_node_t *root)
{
        static const char *const pkeys[] = {"topic", "text", "clause", NULL};
        static const char *const nkeys[] = {"what", "clause", NULL};
        static const char *const fkeys[] = {"clause", NULL};
        yaml_node_t *seq;
        size_t i;
        const char *s;

        if (need_seq(l, root, "provisions", "the policy", 0, &seq) != 0)
                return -1;
        for (i = 0; seq != NULL && i < seq_len(seq); i++) {
                yaml_node_t *it = seq_item(l, seq, i);
                char where[96];

                if (check_map(l, it, "a provision", pkeys) != 0 ||
                    get_str(l, it, "topic", "a provision", 1, &s) != 0 ||
                    get_str(l, it, "text", "a provision", 1, &s) != 0 ||
                    get_str(l, it, "clause", "a provision", 1, &s) != 0)
                        return -1;
                snprintf(where, sizeof(where), "provision %s",
                         scalar_text(get(l, it, "topic")));
                if (notes_of(l, it, where, -1, 0) != 0)
                        return -1;
        }
        if (need_seq(l, root, "not_covered", "the policy", 0, &seq) != 0)
                return -1;
        for (i = 0; seq != NULL && i < seq_len(seq); i++) {
                yaml_node_t *it = seq_item(l, seq, i);

                if (check_map(l, it, "a not_covered entry", nkeys) != 0 ||
                    get_str(l, it, "what", "a not_covered entry", 1, &s) ||
                    get_str(l, it, "clause", "a not_covered entry", 1, &s) ||
                    notes_of(l, it, "not_covered", -1, 0) != 0)
                        return -1;
        }
        if (need_seq(l, root, "notes", "the policy", 0, &seq) != 0)
                return -1;
        for (i = 0; seq != NULL && i < seq_len(seq); i++) {
                yaml_node_t *it = seq_item(l, seq, i);

                if (check_map(l, it, "a note", fkeys) != 0)
                        return -1;
                if (get(l, it, "assumed") == NULL &&
                    get(l, it, "decision") == NULL)
                        return fail(l, it,
                                    "a note needs \"assumed\" or "
                                    "\"decision\"");
                if (notes_of(l, it, "policy", -1, 0) != 0)
                        return -1;
        }
        return 0;
}

static int valid_name(const char *s)
{
        size_t i;

        for (i = 0; s[i] != '\0'; i++) {
                char ch = s[i];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                      ch == '-' || ch == '_'))
                        return 0;
        }
        return i > 0 && i <= 64;
}

static int load_root(struct ld *l, const yaml_node_t *root)
{
        static const char *const keys[] = {
            "format",  "policy",     "title",       "document",
            "source",  "year",       "valid_until", "jurisdiction",
            "window",  "tiers",      "categories",  "strategy",
            "timing",  "allocation", "household",   "settlement",
            "targets", "rules",      "provisions",  "not_covered",
            "notes",   NULL};
        zz_policy_t *p = l->p;
        yaml_node_t *tie_order = NULL;
        long format, year;

        if (root == NULL || root->type != YAML_MAPPING_NODE)
                return fail(l, root, "a policy file must be a mapping");
        if (check_map(l, root, "the policy", keys) != 0 ||
            notes_of(l, root, "policy", -1, 0) != 0 ||
            get_long(l, root, "format", "the policy", 1, 0, 1000, &format))
                return -1;
        if (format != ZZ_POLICY_FORMAT)
                return fail(l, get(l, root, "format"),
                            "unsupported policy format %ld (this build reads "
                            "%d)",
                            format, ZZ_POLICY_FORMAT);
        if (get_str(l, root, "policy", "the policy", 1, &p->name) ||
            get_str(l, root, "title", "the policy", 1, &p->title) ||
            get_str(l, root, "document", "the policy", 1, &p->document) ||
            get_str(l, root, "source", "the policy", 1, &p->source) ||
            get_long(l, root, "year", "the policy", 1, 1990, 2100, &year) ||
            get_date(l, root, "valid_until", "the policy", 0, &p->valid_until))
                return -1;
        if (!valid_name(p->name))
                return fail(l, get(l, root, "policy"),
                            "a policy name is lower-case letters, digits, "
                            "'-' or '_'");
        p->year = (int)year;
        if (load_jurisdiction(l, root) || load_window(l, root) ||
            load_tiers(l, root) || load_categories(l, root) ||
            load_strategy(l, root, &tie_order) || load_timing(l, root) ||
            load_allocation(l, root) || load_household(l, root) ||
            load_periods(l, root) || load_targets(l, root) ||
            load_rules(l, root, tie_order) || load_extras(l, root))
                return -1;
        if (p->win_to < zz_date_from_ymd(p->year - 2, 1, 1) ||
            p->win_from > zz_date_from_ymd(p->year, 12, 31))
                return fail(l, get(l, root, "window"),
                            "the window does not lead to insurance year %d",
                            p->year);
        if (p->valid_until != ZZ_DATE_NONE &&
            p->valid_until < zz_date_from_ymd(p->year, 1, 1))
                return fail(l, get(l, root, "valid_until"),
                            "the policy expires before insurance year %d",
                            p->year);
        return 0;
}

static void hex_sha256(const char *buf, size_t len, char out[65])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        unsigned int i;

        out[0] = '\0';
        if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
            mdlen != 32)
                return;
        for (i = 0; i < mdlen; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 0xf];
        }
        out[64] = '\0';
}

/* The YAML error libyaml's parser stopped at, as "<name>:<line>: ...". */
static void yaml_fail(const yaml_parser_t *parser, const char *name,
                      char *errstr, size_t errstr_size)
{
        zz_errstr_set(errstr, errstr_size, "%s:%d: invalid YAML: %s%s%s", name,
                      (int)parser->problem_mark.line + 1,
                      parser->problem ? parser->problem : "error",
                      parser->context ? " " : "",
                      parser->context ? parser->context : "");
}

/*
 * Walks the events of buf and fails at the first collection nested deeper
 * than ZZ_POLICY_MAX_DEPTH, before the document loader builds a tree of it.
 * 0, or -1 with errstr set (invalid YAML is reported here too).
 */
static int check_depth(const char *name, const char *buf, size_t len,
                       char *errstr, size_t errstr_size)
{
        yaml_parser_t parser;
        yaml_event_t ev;
        int depth = 0, rc = 0, done = 0;

        if (!yaml_parser_initialize(&parser)) {
                zz_errstr_set(errstr, errstr_size, "%s: out of memory", name);
                return -1;
        }
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
        while (!done) {
                if (!yaml_parser_parse(&parser, &ev)) {
                        yaml_fail(&parser, name, errstr, errstr_size);
                        rc = -1;
                        break;
                }
                if (ev.type == YAML_SEQUENCE_START_EVENT ||
                    ev.type == YAML_MAPPING_START_EVENT)
                        depth++;
                else if (ev.type == YAML_SEQUENCE_END_EVENT ||
                         ev.type == YAML_MAPPING_END_EVENT)
                        depth--;
                else if (ev.type == YAML_STREAM_END_EVENT)
                        done = 1;
                if (depth > ZZ_POLICY_MAX_DEPTH) {
                        zz_errstr_set(errstr, errstr_size,
                                      "%s:%d: nested more than %d deep", name,
                                      (int)ev.start_mark.line + 1,
                                      ZZ_POLICY_MAX_DEPTH);
                        rc = -1;
                        done = 1;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&parser);
        return rc;
}

zz_policy_t *zz_policy_load_buf(const char *name, const char *buf, size_t len,
                                char *errstr, size_t errstr_size)
{
        zz_policy_t *p;
        yaml_parser_t parser;
        yaml_document_t doc;
        struct ld l;
        int t, rc;

        if (name == NULL)
                name = "(policy)";
        if (errstr != NULL && errstr_size > 0)
                errstr[0] = '\0';
        if (buf == NULL && len > 0) {
                zz_errstr_set(errstr, errstr_size, "%s: no policy text", name);
                return NULL;
        }
        if (len > ZZ_POLICY_MAX_BYTES) {
                zz_errstr_set(errstr, errstr_size,
                              "%s: policy larger than %d bytes", name,
                              ZZ_POLICY_MAX_BYTES);
                return NULL;
        }
        if (check_depth(name, buf, len, errstr, errstr_size) != 0)
                return NULL;
        p = calloc(1, sizeof(*p));
        if (p == NULL || (p->arena = zz_arena_new(0)) == NULL) {
                free(p);
                zz_errstr_set(errstr, errstr_size, "%s: out of memory", name);
                return NULL;
        }
        for (t = 0; t <= ZZ_TIER_MAX; t++)
                p->tier_fen[t] = -1;
        p->valid_until = ZZ_DATE_NONE;
        p->cutoff = ZZ_DATE_NONE;
        p->death_cutoff = ZZ_DATE_NONE;
        hex_sha256(buf != NULL ? buf : "", len, p->version);

        l.name = name;
        l.doc = &doc;
        l.p = p;
        l.errstr = errstr;
        l.errstr_size = errstr_size;

        if (!yaml_parser_initialize(&parser)) {
                zz_policy_destroy(p);
                zz_errstr_set(errstr, errstr_size, "%s: out of memory", name);
                return NULL;
        }
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
        if (!yaml_parser_load(&parser, &doc)) {
                yaml_fail(&parser, name, errstr, errstr_size);
                yaml_parser_delete(&parser);
                zz_policy_destroy(p);
                return NULL;
        }
        yaml_parser_delete(&parser);
        if (yaml_document_get_root_node(&doc) == NULL) {
                zz_errstr_set(errstr, errstr_size,
                              "%s:1: the policy file is empty", name);
                yaml_document_delete(&doc);
                zz_policy_destroy(p);
                return NULL;
        }
        rc = load_root(&l, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
        if (rc == 0)
                rc = zz_policy_lint(p, name, errstr, errstr_size);
        if (rc != 0) {
                zz_policy_destroy(p);
                return NULL;
        }
        return p;
}

zz_policy_t *zz_policy_load_file(const char *path, char *errstr,
                                 size_t errstr_size)
{
        FILE *f;
        char *buf = NULL;
        size_t len = 0, cap = 0, n;
        zz_policy_t *p;

        if (path == NULL) {
                if (errstr != NULL && errstr_size > 0)
                        snprintf(errstr, errstr_size, "no policy file given");
                return NULL;
        }
        f = fopen(path, "rb");
        if (f == NULL) {
                if (errstr != NULL && errstr_size > 0)
                        snprintf(errstr, errstr_size,
                                 "could not open policy file \"%s\": %s", path,
                                 strerror(errno));
                return NULL;
        }
        for (;;) {
                if (len == cap) {
                        char *b2;

                        /* Room for one byte past the cap, to see it. */
                        if (len > ZZ_POLICY_MAX_BYTES) {
                                free(buf);
                                fclose(f);
                                if (errstr != NULL && errstr_size > 0)
                                        snprintf(errstr, errstr_size,
                                                 "%s: policy file larger "
                                                 "than %d bytes",
                                                 path, ZZ_POLICY_MAX_BYTES);
                                return NULL;
                        }
                        cap = cap ? cap * 2 : 16384;
                        if (cap > ZZ_POLICY_MAX_BYTES + 1)
                                cap = ZZ_POLICY_MAX_BYTES + 1;
                        b2 = realloc(buf, cap);
                        if (b2 == NULL) {
                                free(buf);
                                fclose(f);
                                if (errstr != NULL && errstr_size > 0)
                                        snprintf(errstr, errstr_size,
                                                 "%s: out of memory", path);
                                return NULL;
                        }
                        buf = b2;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(f)) {
                free(buf);
                fclose(f);
                if (errstr != NULL && errstr_size > 0)
                        snprintf(errstr, errstr_size,
                                 "could not read policy file \"%s\"", path);
                return NULL;
        }
        fclose(f);
        p = zz_policy_load_buf(path, buf, len, errstr, errstr_size);
        free(buf);
        return p;
}

void zz_policy_destroy(zz_policy_t *policy)
{
        if (policy == NULL)
                return;
        zz_arena_destroy(policy->arena);
        free(policy->notes);
        free(policy->note_scopes);
        free(policy);
}

/* ---- accessors ---- */

const char *zz_policy_name(const zz_policy_t *policy)
{
        return policy->name;
}

const char *zz_policy_title(const zz_policy_t *policy)
{
        return policy->title;
}

const char *zz_policy_document(const zz_policy_t *policy)
{
        return policy->document;
}

int zz_policy_year(const zz_policy_t *policy)
{
        return policy->year;
}

const char *zz_policy_version(const zz_policy_t *policy)
{
        return policy->version;
}

int zz_policy_in_jurisdiction(const zz_policy_t *policy, const char *region)
{
        size_t i;

        if (region == NULL)
                return 0;
        for (i = 0; i < policy->n_prefixes; i++) {
                const char *pre = policy->prefixes[i];

                if (strncmp(region, pre, strlen(pre)) == 0)
                        return 1;
        }
        return 0;
}

void zz_policy_window(const zz_policy_t *policy, zz_date_t *from, zz_date_t *to)
{
        if (from != NULL)
                *from = policy->win_from;
        if (to != NULL)
                *to = policy->win_to;
}

zz_fen_t zz_policy_tier_fen(const zz_policy_t *policy, int tier)
{
        if (tier < 1 || tier > ZZ_TIER_MAX)
                return -1;
        return policy->tier_fen[tier];
}

int zz_policy_household_same_tier(const zz_policy_t *policy)
{
        return policy->household_same_tier;
}

size_t zz_policy_period_count(const zz_policy_t *policy)
{
        return policy->n_periods;
}

const zz_policy_period_t *zz_policy_period(const zz_policy_t *policy, size_t i)
{
        return i < policy->n_periods ? &policy->periods[i].pub : NULL;
}

size_t zz_policy_target_count(const zz_policy_t *policy)
{
        return policy->n_targets;
}

const zz_policy_target_t *zz_policy_target(const zz_policy_t *policy, size_t i)
{
        return i < policy->n_targets ? &policy->targets[i] : NULL;
}

size_t zz_policy_note_count(const zz_policy_t *policy)
{
        return policy->n_notes;
}

const zz_policy_note_t *zz_policy_note(const zz_policy_t *policy, size_t i)
{
        return i < policy->n_notes ? &policy->notes[i] : NULL;
}

const char *zz_note_kind_name(zz_note_kind_t kind)
{
        return kind == ZZ_NOTE_ASSUMED ? "ASSUMED" : "DECISION";
}
