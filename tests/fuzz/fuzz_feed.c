/*
 * fuzz_feed.c — libFuzzer target of the CSV reader and the row parser
 * (feed.h, core/src/feed/feed_int.h).
 *
 * An input is a department file. It is read once (encoding detected as
 * zizhu-feed does), and every row is given to four row parsers: identity,
 * identity in snapshot mode, enrollment and payment; the first row is the
 * header of each (a parser whose required columns are missing takes no
 * rows, as zizhu-feed refuses that file).
 *
 * Findings of issue 14 that another change fixes are checked only when
 * their ZZ_FUZZ_PENDING_* macro is not defined (tests/fuzz/CMakeLists.txt
 * lists them until the fix is merged).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_int.h"
#include "zizhu/date.h"
#include "zizhu/feed.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_PARSERS 4

static const zz_feed_options_t parser_options[N_PARSERS] = {
    {.kind = ZZ_FEED_IDENTITY, .department = NULL},
    {.kind = ZZ_FEED_IDENTITY, .department = "MCA", .snapshot = 1},
    {.kind = ZZ_FEED_ENROLLMENT},
    {.kind = ZZ_FEED_PAYMENT},
};

/* 1 when a field of row holds a NUL byte (its length is longer than its
 * string). */
static int row_has_nul(const zz_feed_row_t *row)
{
        for (size_t i = 0; i < row->n_fields; i++)
                if (strlen(row->fields[i]) != row->lens[i])
                        return 1;
        return 0;
}

static zz_feed_encoder_t *encoder;

static void parse_row(zz_feed_t *feed, const zz_feed_row_t *row)
{
        zz_feed_record_t rec;
        char reason[256];
        int rc;

        rc = zz_feed_parse_row(feed, row, &rec, reason, sizeof reason);
        if (rc != 0 && rc != 1) {
                fprintf(stderr, "row parser returned %d\n", rc);
                abort();
        }
#ifndef ZZ_FUZZ_PENDING_NUL_IN_FIELD
        /* Issue 14, finding 3: a field with a NUL is rejected. */
        if (rc == 0 && row_has_nul(row)) {
                fprintf(stderr,
                        "line %zu: a field with a NUL byte was "
                        "accepted\n",
                        row->line);
                abort();
        }
#else
        (void)row_has_nul;
#endif
        if (rc == 0) {
                char json[8192];
                const void *msg;
                size_t len;

                (void)zz_feed_record_key(&rec);
                (void)zz_feed_record_to_json(&rec, json, sizeof json);
                /* An accepted row may still fail the event's validation:
                 * zizhu-feed rejects it then. */
                (void)zz_feed_encode(encoder, &rec, &msg, &len, reason,
                                     sizeof reason);
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char err[512];

        encoder = zz_feed_encoder_new(err, sizeof err);
        if (encoder == NULL) {
                fprintf(stderr, "fuzz_feed: %s\n", err);
                abort();
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        zz_feed_t *feeds[N_PARSERS] = {NULL};
        zz_feed_reader_t *reader;
        zz_feed_row_t *row;
        char err[512];
        int rc, header = 1;

#ifdef ZZ_FUZZ_PENDING_EMPTY_FILE
        /* Issue 14, finding 4: an empty file is undefined behaviour in the
         * reader (tests/fuzz/regressions/feed-empty-file). */
        if (size == 0)
                return 0;
#endif
        reader = zz_feed_reader_open_mem(data, size, ZZ_FEED_ENC_AUTO, err,
                                         sizeof err);
        if (reader == NULL)
                return 0;
        for (int i = 0; i < N_PARSERS; i++) {
                zz_feed_options_t o = parser_options[i];
                o.default_reported_at = (zz_ts_t)1568937600 * 1000;
                feeds[i] = zz_feed_new(&o, err, sizeof err);
                if (feeds[i] == NULL) {
                        fprintf(stderr, "fuzz_feed: %s\n", err);
                        abort();
                }
        }
        while ((rc = zz_feed_reader_next(reader, &row, err, sizeof err)) == 1) {
                if (row->n_fields < 1) {
                        fprintf(stderr, "a row without fields\n");
                        abort();
                }
                for (int i = 0; i < N_PARSERS; i++) {
                        if (feeds[i] == NULL)
                                continue;
                        if (!header) {
                                parse_row(feeds[i], row);
                                continue;
                        }
                        if (zz_feed_header(feeds[i], row, NULL, err,
                                           sizeof err) != 0) {
                                zz_feed_destroy(feeds[i]);
                                feeds[i] = NULL;
                        }
                }
                header = 0;
        }
        for (int i = 0; i < N_PARSERS; i++)
                zz_feed_destroy(feeds[i]);
        zz_feed_reader_destroy(reader);
        return 0;
}
