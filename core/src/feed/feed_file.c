/*
 * feed_file.c — one department file from the first byte to the last: the
 * loop every zizhu-feed mode shares (header, rows, rejects, progress).
 */
#include "feed_int.h"

#include <string.h>

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

        while ((got = zz_feed_reader_next(reader, &row, errstr, errstr_size)) ==
               1) {
                stats->rows++;
                r = zz_feed_parse_row(feed, row, &rec, reason, sizeof(reason));
                if (r != 0) {
                        if (reject_row(rejects, row, &rec, reason, options,
                                       stats, errstr, errstr_size) != 0)
                                return -1;
                } else {
                        stats->records++;
                        r = on_record(&rec, opaque);
                        if (r != 0)
                                return r;
                }
                if (progress != NULL && ++since_progress >= 4096) {
                        since_progress = 0;
                        progress(zz_feed_reader_offset(reader),
                                 zz_feed_reader_size(reader), progress_opaque);
                }
        }
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
