/*
 * test_feed_hostile.c — department files that an attacker or a broken
 * export could send (issue 14): each test is named after what broke and
 * failed before its fix. Files are written to a scratch directory, so
 * the reject file lands beside them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/feed.h"

struct hostile {
        char dir[64];
        char path[128];
        zz_feed_stats_t st;
        size_t records;
        char errstr[512];
};

static int count_record(const zz_feed_record_t *rec, void *opaque)
{
        struct hostile *h = opaque;

        (void)rec;
        h->records++;
        return 0;
}

/* Writes len bytes of text to a fresh file and reads it as a file of
 * kind (identity: of MCA). The return value of zz_feed_read_file. */
static int read_bytes(struct hostile *h, const char *text, size_t len,
                      zz_feed_kind_t kind, int snapshot)
{
        zz_feed_options_t opt = {.kind = kind,
                                 .department =
                                     kind == ZZ_FEED_IDENTITY ? "MCA" : NULL,
                                 .snapshot = snapshot};
        FILE *fp;

        memset(h, 0, sizeof(*h));
        snprintf(h->dir, sizeof(h->dir), "/tmp/zz-test-hostile-XXXXXX");
        cr_assert_not_null(mkdtemp(h->dir));
        snprintf(h->path, sizeof(h->path), "%s/in.csv", h->dir);
        fp = fopen(h->path, "wb");
        cr_assert_not_null(fp);
        cr_assert_eq(fwrite(text, 1, len, fp), len);
        fclose(fp);
        return zz_feed_read_file(h->path, ZZ_FEED_ENC_AUTO, &opt, count_record,
                                 h, NULL, NULL, &h->st, h->errstr,
                                 sizeof(h->errstr));
}

/* ------------------------------------------------------------------ */

/* An empty file made the reader copy from a NULL buffer (undefined
 * behaviour: the sanitized build stopped with a report) before saying
 * the file has no header. */
Test(feed_csv, empty_file_has_no_header_row)
{
        struct hostile h;

        cr_assert_eq(read_bytes(&h, "", 0, ZZ_FEED_IDENTITY, 0), -1);
        cr_assert(strstr(h.errstr, "has no header row") != NULL, "%s",
                  h.errstr);
        cr_assert_eq(h.st.rows, 0);
}
