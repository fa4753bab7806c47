/*
 * feed_file.c — one department file from the first byte to the last: the
 * loop every zizhu-feed mode shares (header, rows, rejects, progress).
 */
#include "feed_int.h"

#include <stdlib.h>
#include <string.h>

#include "zizhu/arena.h"

/* The record ids seen so far in a snapshot (a set of strings, open
 * addressing): a second row with one of them is another person under the
 * same id, rejected, never silently dropped. */
struct seen {
        zz_arena_t *arena;
        char **slots;
        size_t n, n_slots;
};

static char **seen_slot(char **slots, size_t n_slots, const char *id)
{
        size_t i = (size_t)(zz_feed_hash(id) & (n_slots - 1));

        while (slots[i] != NULL && strcmp(slots[i], id) != 0)
                i = (i + 1) & (n_slots - 1);
        return &slots[i];
}

/* 0 when id is new (now added), 1 when already seen, -1 out of memory. */
static int seen_add(struct seen *seen, const char *id)
{
        char **slot;

        if ((seen->n + 1) * 2 > seen->n_slots) {
                size_t n_slots = seen->n_slots ? seen->n_slots * 2 : 1024;
                char **slots = calloc(n_slots, sizeof(*slots));
                size_t i;

                if (slots == NULL)
                        return -1;
                for (i = 0; i < seen->n_slots; i++) {
                        if (seen->slots[i] != NULL)
                                *seen_slot(slots, n_slots, seen->slots[i]) =
                                    seen->slots[i];
                }
                free(seen->slots);
                seen->slots = slots;
                seen->n_slots = n_slots;
        }
        slot = seen_slot(seen->slots, seen->n_slots, id);
        if (*slot != NULL)
                return 1;
        if (seen->arena == NULL && (seen->arena = zz_arena_new(0)) == NULL)
                return -1;
        *slot = zz_arena_strdup(seen->arena, id);
        if (*slot == NULL)
                return -1;
        seen->n++;
        return 0;
}

static void seen_free(struct seen *seen)
{
        zz_arena_destroy(seen->arena);
        free(seen->slots);
}

/* A rejected row: a line in the reject file, and the caller told. -1 with
 * errstr when the reject file cannot be written. */
static int reject_row(zz_feed_rejects_t *rejects, const zz_feed_row_t *row,
                      const zz_feed_record_t *rec, const char *reason,
                      const zz_feed_options_t *options, zz_feed_stats_t *stats,
                      char *errstr, size_t errstr_size)
{
        const char *record = "";

        /* The masked number and record id help the clerk find the row
         * when line numbers shifted. */
        if (rec->kind == ZZ_FEED_IDENTITY)
                record = rec->u.identity.dept_record_id;
        if (zz_feed_rejects_add(rejects, row->line, reason,
                                zz_feed_record_key(rec), record) != 0) {
                snprintf(errstr, errstr_size, "could not write %s",
                         zz_feed_rejects_path(rejects));
                return -1;
        }
        stats->rejected++;
        if (options->on_reject != NULL)
                options->on_reject(row->line, record[0] != '\0' ? record : NULL,
                                   options->reject_opaque);
        return 0;
}

/* A snapshot's row whose 人员编号 an earlier row had: 1 with reason, 0
 * when it is the first, -1 out of memory. */
static int snapshot_duplicate(struct seen *seen, const zz_feed_record_t *rec,
                              char *reason, size_t reason_size)
{
        int r = seen_add(seen, rec->u.identity.dept_record_id);

        if (r == 1)
                snprintf(reason, reason_size,
                         "人员编号: listed twice in this snapshot (the first "
                         "row is kept)");
        return r;
}

/* The rows after the header: each a record or a reject. 0 at the end of
 * the file, -1 with errstr, or what on_record returned. */
static int read_rows(zz_feed_reader_t *reader, zz_feed_t *feed,
                     zz_feed_rejects_t *rejects,
                     const zz_feed_options_t *options,
                     zz_feed_record_cb on_record, void *opaque,
                     zz_feed_progress_cb progress, void *progress_opaque,
                     zz_feed_stats_t *stats, char *errstr, size_t errstr_size)
{
        zz_feed_row_t *row;
        zz_feed_record_t rec;
        char reason[256];
        int got, r;
        size_t since_progress = 0;
        struct seen seen = {0};
        int snapshot = options->snapshot && options->kind == ZZ_FEED_IDENTITY;

        while ((got = zz_feed_reader_next(reader, &row, errstr, errstr_size)) ==
               1) {
                stats->rows++;
                r = zz_feed_parse_row(feed, row, &rec, reason, sizeof(reason));
                if (r == 0 && snapshot)
                        r = snapshot_duplicate(&seen, &rec, reason,
                                               sizeof(reason));
                if (r < 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        got = -1;
                        break;
                }
                if (r != 0) {
                        if (reject_row(rejects, row, &rec, reason, options,
                                       stats, errstr, errstr_size) != 0) {
                                got = -1;
                                break;
                        }
                } else {
                        stats->records++;
                        r = on_record(&rec, opaque);
                        if (r != 0) {
                                seen_free(&seen);
                                return r;
                        }
                }
                if (progress != NULL && ++since_progress >= 4096) {
                        since_progress = 0;
                        progress(zz_feed_reader_offset(reader),
                                 zz_feed_reader_size(reader), progress_opaque);
                }
        }
        seen_free(&seen);
        return got < 0 ? -1 : 0;
}

/* The header row: -1 with errstr when there is none or a required column
 * is missing. */
static int read_header(const char *path, zz_feed_reader_t *reader,
                       zz_feed_t *feed, zz_feed_stats_t *stats, char *errstr,
                       size_t errstr_size)
{
        zz_feed_row_t *row;
        int got = zz_feed_reader_next(reader, &row, errstr, errstr_size);

        if (got < 0)
                return -1;
        if (got == 0) {
                snprintf(errstr, errstr_size, "%s has no header row", path);
                return -1;
        }
        return zz_feed_header(feed, row, &stats->unknown_columns, errstr,
                              errstr_size);
}

int zz_feed_read_file(const char *path, zz_feed_enc_t enc,
                      const zz_feed_options_t *options,
                      zz_feed_record_cb on_record, void *opaque,
                      zz_feed_progress_cb progress, void *progress_opaque,
                      zz_feed_stats_t *stats, char *errstr, size_t errstr_size)
{
        zz_feed_reader_t *reader = NULL;
        zz_feed_t *feed = NULL;
        zz_feed_rejects_t *rejects = NULL;
        int rc = -1;

        memset(stats, 0, sizeof(*stats));
        reader = zz_feed_reader_open(path, enc, errstr, errstr_size);
        if (reader == NULL)
                goto done;
        stats->encoding = zz_feed_reader_encoding(reader);
        zz_feed_reader_set_limits(reader, options->max_field_bytes,
                                  options->max_row_bytes);
        feed = zz_feed_new(options, errstr, errstr_size);
        if (feed == NULL)
                goto done;
        rejects = zz_feed_rejects_new(path, errstr, errstr_size);
        if (rejects == NULL)
                goto done;
        if (read_header(path, reader, feed, stats, errstr, errstr_size) == 0)
                rc = read_rows(reader, feed, rejects, options, on_record,
                               opaque, progress, progress_opaque, stats, errstr,
                               errstr_size);
done:
        if (reader != NULL) {
                stats->bytes = zz_feed_reader_offset(reader);
                if (progress != NULL)
                        progress(stats->bytes, zz_feed_reader_size(reader),
                                 progress_opaque);
        }
        if (rejects != NULL) {
                if (zz_feed_rejects_count(rejects) > 0)
                        snprintf(stats->rejects_path,
                                 sizeof(stats->rejects_path), "%s",
                                 zz_feed_rejects_path(rejects));
                if (zz_feed_rejects_close(rejects) != 0 && rc == 0) {
                        snprintf(errstr, errstr_size,
                                 "could not write the reject file");
                        rc = -1;
                }
        }
        zz_feed_destroy(feed);
        zz_feed_reader_destroy(reader);
        return rc;
}
