/*
 * feed_reject.c — the reject file beside each input.
 *
 * A clerk fixes rejected rows in the spreadsheet they came from, so each
 * reject line gives the line number and the reason. The file holds no name
 * and only a masked ID number (it may be mailed back to a department), and
 * every reason goes through the log scrubber as well. It is opened in a
 * spreadsheet, so no cell is written as a formula (zizhu/csvcell.h).
 */
#include "feed_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/csvcell.h"
#include "zizhu/idno.h"
#include "zizhu/log.h"

struct zz_feed_rejects_s {
        char *path;
        FILE *fp;
        size_t count;
        int failed;
};

zz_feed_rejects_t *zz_feed_rejects_new(const char *input, char *errstr,
                                       size_t errstr_size)
{
        zz_feed_rejects_t *rj = calloc(1, sizeof(*rj));
        const char *base = strcmp(input, "-") == 0 ? "stdin" : input;
        size_t n = strlen(base) + sizeof(".rejects.csv");

        if (rj == NULL || (rj->path = malloc(n)) == NULL) {
                free(rj);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        snprintf(rj->path, n, "%s.rejects.csv", base);
        if (unlink(rj->path) != 0 && errno != ENOENT) {
                snprintf(errstr, errstr_size, "could not remove stale %s: %s",
                         rj->path, strerror(errno));
                free(rj->path);
                free(rj);
                return NULL;
        }
        return rj;
}

void zz_feed_mask_field(const char *s, char out[19])
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0) {
                out[0] = '\0';
                return;
        }
        zz_idno_mask(s, n > 18 ? 18 : n, out);
}

/* Every cell quoted, and a cell that a spreadsheet would run as a
 * formula (a hostile record id, or an ID field "=cmd|..." whose mask
 * keeps the "=cmd") neutralized: see zizhu/csvcell.h. */
static void put_field(FILE *fp, const char *s, int last)
{
        zz_csvcell_write(fp, s, ZZ_CSVCELL_QUOTE_ALWAYS);
        fputc(last ? '\n' : ',', fp);
}

int zz_feed_rejects_add(zz_feed_rejects_t *rj, size_t line, const char *reason,
                        const char *person_id, const char *record_id)
{
        char num[32];
        char msg[512];
        char masked[19];
        char rec[128];

        if (rj->fp == NULL && !rj->failed) {
                rj->fp = fopen(rj->path, "w");
                if (rj->fp == NULL) {
                        rj->failed = 1;
                        return -1;
                }
                fputs("\xEF\xBB\xBF", rj->fp);
                fputs("行号,原因,身份证号码,人员编号\n", rj->fp);
        }
        if (rj->fp == NULL)
                return -1;
        snprintf(num, sizeof(num), "%zu", line);
        snprintf(msg, sizeof(msg), "%s", reason);
        zz_log_scrub(msg);
        zz_feed_mask_field(person_id, masked);
        snprintf(rec, sizeof(rec), "%s", record_id ? record_id : "");
        zz_log_scrub(rec);
        put_field(rj->fp, num, 0);
        put_field(rj->fp, msg, 0);
        put_field(rj->fp, masked, 0);
        put_field(rj->fp, rec, 1);
        rj->count++;
        return ferror(rj->fp) ? -1 : 0;
}

size_t zz_feed_rejects_count(const zz_feed_rejects_t *rj)
{
        return rj->count;
}

const char *zz_feed_rejects_path(const zz_feed_rejects_t *rj)
{
        return rj->path;
}

int zz_feed_rejects_close(zz_feed_rejects_t *rj)
{
        int rc = 0;

        if (rj == NULL)
                return 0;
        if (rj->fp != NULL && fclose(rj->fp) != 0)
                rc = -1;
        if (rj->failed)
                rc = -1;
        free(rj->path);
        free(rj);
        return rc;
}
