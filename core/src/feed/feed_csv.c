/*
 * feed_csv.c — reading department CSV files: encoding detection, GB18030
 * to UTF-8 conversion (glibc iconv) and CSV parsing (libcsv).
 *
 * The input is read in chunks, converted to UTF-8, and handed to libcsv one
 * physical line at a time, so that every row knows the line it starts on
 * even when a quoted field holds newlines: a reject line must point the
 * clerk at the right place in the spreadsheet.
 */
#include "feed_int.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <csv.h>

#include "zizhu/arena.h"
#include "zizhu/csvcell.h"

#define ZZ_FEED_CHUNK (64 * 1024)

int zz_feed_enc_parse(const char *name, zz_feed_enc_t *out)
{
        if (strcasecmp(name, "auto") == 0)
                *out = ZZ_FEED_ENC_AUTO;
        else if (strcasecmp(name, "utf-8") == 0 ||
                 strcasecmp(name, "utf8") == 0)
                *out = ZZ_FEED_ENC_UTF8;
        else if (strcasecmp(name, "gb18030") == 0 ||
                 strcasecmp(name, "gbk") == 0 ||
                 strcasecmp(name, "gb2312") == 0 ||
                 strcasecmp(name, "cp936") == 0)
                *out = ZZ_FEED_ENC_GB18030;
        else
                return -1;
        return 0;
}

const char *zz_feed_enc_name(zz_feed_enc_t enc)
{
        switch (enc) {
        case ZZ_FEED_ENC_UTF8:
                return "UTF-8";
        case ZZ_FEED_ENC_GB18030:
                return "GB18030";
        default:
                return "auto";
        }
}

/* Length of the valid UTF-8 sequence at s, 0 when invalid, -1 when it is
 * cut by the end of the buffer. */
static int utf8_seq(const unsigned char *s, size_t left)
{
        unsigned char c = s[0];
        int n;
        int i;

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                n = 2;
        else if (c >= 0xE0 && c <= 0xEF)
                n = 3;
        else if (c >= 0xF0 && c <= 0xF4)
                n = 4;
        else
                return 0;
        for (i = 1; i < n; i++) {
                if ((size_t)i >= left)
                        return -1;
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
        }
        /* Overlong 3- and 4-byte forms, surrogates, above U+10FFFF. */
        if (n == 3 && c == 0xE0 && s[1] < 0xA0)
                return 0;
        if (n == 3 && c == 0xED && s[1] >= 0xA0)
                return 0;
        if (n == 4 && c == 0xF0 && s[1] < 0x90)
                return 0;
        if (n == 4 && c == 0xF4 && s[1] >= 0x90)
                return 0;
        return n;
}

int zz_feed_utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (i < len) {
                int n = utf8_seq(p + i, len - i);

                if (n <= 0)
                        return 0;
                i += (size_t)n;
        }
        return 1;
}

zz_feed_enc_t zz_feed_enc_detect(const unsigned char *buf, size_t len)
{
        size_t i = 0;
        const unsigned char *nl;

        if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
                return ZZ_FEED_ENC_UTF8;
        /* The header row decides: column names are Chinese, and GBK
         * Chinese is practically never valid UTF-8. A later row in another
         * encoding is then rejected on its own instead of garbling the
         * whole file. */
        nl = memchr(buf, '\n', len);
        if (nl != NULL)
                len = (size_t)(nl - buf);
        while (i < len) {
                int n = utf8_seq(buf + i, len - i);

                if (n == 0)
                        return ZZ_FEED_ENC_GB18030;
                if (n < 0)
                        break; /* cut by the end of the sample */
                i += (size_t)n;
        }
        return ZZ_FEED_ENC_UTF8;
}

/* ------------------------------------------------------------------ */

struct zz_feed_reader_s {
        FILE *fp;
        int owns_fp;
        uint64_t size;
        uint64_t offset;
        zz_feed_enc_t enc;
        iconv_t cd;
        int eof;
        int done;
        int at_start; /* no text converted yet: strip a BOM */

        unsigned char raw[ZZ_FEED_CHUNK + 8];
        size_t raw_len; /* bytes carried over (incomplete sequence) */
        char *text;     /* converted text of the current chunk */
        size_t text_cap;
        size_t text_len;

        struct csv_parser csv;
        size_t line;     /* physical line being fed */
        int row_started; /* non-blank text since the last row end */
        size_t row_start_line;

        /* The row being built: field bytes in cur, offsets in cur_off. */
        char *cur;
        size_t cur_len, cur_cap;
        size_t *cur_off; /* start, end pairs */
        size_t cur_n, cur_off_cap;

        /* Limits, and where the row being built went over them. */
        size_t max_field, max_row;
        size_t long_field; /* 1-based column, 0 none */
        int long_row;

        /* Completed rows, in arena memory. */
        zz_arena_t *arena;
        zz_feed_row_t *rows;
        size_t n_rows, rows_cap, head;
        int oom;
};

static zz_feed_reader_t *reader_new(FILE *fp, int owns, uint64_t size,
                                    zz_feed_enc_t enc, char *errstr,
                                    size_t errstr_size)
{
        zz_feed_reader_t *r = calloc(1, sizeof(*r));

        if (r == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                if (owns)
                        fclose(fp);
                return NULL;
        }
        r->fp = fp;
        r->owns_fp = owns;
        r->size = size;
        r->cd = (iconv_t)-1;
        r->at_start = 1;
        r->line = 1;
        zz_feed_reader_set_limits(r, 0, 0);
        r->arena = zz_arena_new(0);
        if (r->arena == NULL || csv_init(&r->csv, CSV_STRICT_FINI) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                if (r->arena != NULL)
                        zz_arena_destroy(r->arena);
                if (owns)
                        fclose(fp);
                free(r);
                return NULL;
        }
        /* Detect from the first chunk, which is read here. */
        r->raw_len = fread(r->raw, 1, ZZ_FEED_CHUNK, fp);
        if (ferror(fp)) {
                snprintf(errstr, errstr_size, "could not read input: %s",
                         strerror(errno));
                zz_feed_reader_destroy(r);
                return NULL;
        }
        r->offset = r->raw_len;
        if (r->raw_len < ZZ_FEED_CHUNK)
                r->eof = 1;
        if (enc == ZZ_FEED_ENC_AUTO)
                enc = zz_feed_enc_detect(r->raw, r->raw_len);
        r->enc = enc;
        if (enc == ZZ_FEED_ENC_GB18030) {
                r->cd = iconv_open("UTF-8", "GB18030");
                if (r->cd == (iconv_t)-1) {
                        snprintf(errstr, errstr_size,
                                 "could not convert from GB18030: %s",
                                 strerror(errno));
                        zz_feed_reader_destroy(r);
                        return NULL;
                }
        }
        return r;
}

zz_feed_reader_t *zz_feed_reader_open(const char *path, zz_feed_enc_t enc,
                                      char *errstr, size_t errstr_size)
{
        FILE *fp;
        struct stat st;
        uint64_t size = 0;

        if (strcmp(path, "-") == 0)
                return reader_new(stdin, 0, 0, enc, errstr, errstr_size);
        fp = fopen(path, "rb");
        if (fp == NULL) {
                snprintf(errstr, errstr_size, "could not open %s: %s", path,
                         strerror(errno));
                return NULL;
        }
        if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
                size = (uint64_t)st.st_size;
        return reader_new(fp, 1, size, enc, errstr, errstr_size);
}

zz_feed_reader_t *zz_feed_reader_open_mem(const void *buf, size_t len,
                                          zz_feed_enc_t enc, char *errstr,
                                          size_t errstr_size)
{
        FILE *fp = tmpfile();

        if (fp == NULL || (len > 0 && fwrite(buf, 1, len, fp) != len) ||
            fseek(fp, 0, SEEK_SET) != 0) {
                snprintf(errstr, errstr_size, "could not buffer input");
                if (fp != NULL)
                        fclose(fp);
                return NULL;
        }
        return reader_new(fp, 1, len, enc, errstr, errstr_size);
}

void zz_feed_reader_destroy(zz_feed_reader_t *r)
{
        if (r == NULL)
                return;
        if (r->cd != (iconv_t)-1)
                iconv_close(r->cd);
        csv_free(&r->csv);
        if (r->owns_fp && r->fp != NULL)
                fclose(r->fp);
        zz_arena_destroy(r->arena);
        free(r->text);
        free(r->cur);
        free(r->cur_off);
        free(r->rows);
        free(r);
}

void zz_feed_reader_set_limits(zz_feed_reader_t *r, size_t max_field,
                               size_t max_row)
{
        r->max_field = max_field ? max_field : ZZ_FEED_MAX_FIELD_BYTES;
        r->max_row = max_row ? max_row : ZZ_FEED_MAX_ROW_BYTES;
}

zz_feed_enc_t zz_feed_reader_encoding(const zz_feed_reader_t *r)
{
        return r->enc;
}

uint64_t zz_feed_reader_offset(const zz_feed_reader_t *r)
{
        return r->offset;
}

uint64_t zz_feed_reader_size(const zz_feed_reader_t *r)
{
        return r->size;
}

static int text_reserve(zz_feed_reader_t *r, size_t more)
{
        size_t need = r->text_len + more;
        char *p;
        size_t cap;

        if (need <= r->text_cap)
                return 0;
        cap = r->text_cap ? r->text_cap : 4 * ZZ_FEED_CHUNK;
        while (cap < need)
                cap *= 2;
        p = realloc(r->text, cap);
        if (p == NULL)
                return -1;
        r->text = p;
        r->text_cap = cap;
        return 0;
}

/* Converts r->raw[0..raw_len) into r->text; keeps an incomplete sequence
 * at the end for the next chunk unless this is the last one. */
static int convert_chunk(zz_feed_reader_t *r)
{
        r->text_len = 0;
        /* An empty file (or an empty last chunk): r->text may still be
         * NULL, and memcpy must not be given it even for 0 bytes. */
        if (r->raw_len == 0)
                return 0;
        if (r->enc != ZZ_FEED_ENC_GB18030) {
                size_t keep = 0;

                /* Keep a UTF-8 sequence cut by the chunk boundary. */
                if (!r->eof) {
                        size_t i = r->raw_len;

                        while (i > 0 && r->raw_len - i < 4 &&
                               (r->raw[i - 1] & 0xC0) == 0x80)
                                i--;
                        if (i > 0 && r->raw[i - 1] >= 0xC0 &&
                            utf8_seq(r->raw + i - 1, r->raw_len - i + 1) < 0)
                                keep = r->raw_len - i + 1;
                }
                if (text_reserve(r, r->raw_len) != 0)
                        return -1;
                memcpy(r->text, r->raw, r->raw_len - keep);
                r->text_len = r->raw_len - keep;
                memmove(r->raw, r->raw + r->raw_len - keep, keep);
                r->raw_len = keep;
                return 0;
        }
        {
                char *in = (char *)r->raw;
                size_t in_left = r->raw_len;

                while (in_left > 0) {
                        char *out;
                        size_t out_left;
                        size_t rc;

                        if (text_reserve(r, in_left * 2 + 16) != 0)
                                return -1;
                        out = r->text + r->text_len;
                        out_left = r->text_cap - r->text_len;
                        rc = iconv(r->cd, &in, &in_left, &out, &out_left);
                        r->text_len = r->text_cap - out_left;
                        if (rc != (size_t)-1)
                                break;
                        if (errno == E2BIG)
                                continue;
                        if (errno == EINVAL && !r->eof)
                                break; /* incomplete: carry it over */
                        /* EILSEQ, or incomplete at the very end: U+FFFD
                         * marks the row as bad text. */
                        if (text_reserve(r, 3) != 0)
                                return -1;
                        memcpy(r->text + r->text_len, "\xEF\xBF\xBD", 3);
                        r->text_len += 3;
                        in++;
                        in_left--;
                }
                memmove(r->raw, in, in_left);
                r->raw_len = in_left;
        }
        return 0;
}

/* libcsv trims blanks of unquoted fields; quoted ones keep them, but a
 * clerk never means a leading blank in an id. */
static void trim_blanks(const char **s, size_t *len)
{
        while (*len > 0 && (**s == ' ' || **s == '\t')) {
                (*s)++;
                (*len)--;
        }
        while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
                (*len)--;
}

/* Over a limit, the text of a field is dropped (see check_limits): the
 * length to keep of a complete field of len bytes, or -1 to keep no cell
 * at all (the row is too long and has one already). */
static long long field_limit(zz_feed_reader_t *r, size_t len)
{
        if (len > r->max_field && r->long_field == 0 && !r->long_row)
                r->long_field = r->cur_n + 1;
        if (r->long_field == r->cur_n + 1)
                len = 0;
        if (r->cur_len + r->cur_n + len > r->max_row)
                r->long_row = 1;
        if (r->long_row)
                return r->cur_n > 0 ? -1 : 0;
        return (long long)len;
}

static void cb_field(void *data, size_t len, void *ctx)
{
        zz_feed_reader_t *r = ctx;
        const char *s = data;
        long long keep;

        trim_blanks(&s, &len);
        /* A cell our CSV writers neutralized ("'=x", zizhu/csvcell.h)
         * reads back as it was. */
        zz_csvcell_unguard(&s, &len);
        keep = field_limit(r, len);
        if (keep < 0)
                return;
        len = (size_t)keep;
        if (r->cur_len + len + 1 > r->cur_cap) {
                size_t cap = r->cur_cap ? r->cur_cap : 1024;
                char *p;

                while (cap < r->cur_len + len + 1)
                        cap *= 2;
                p = realloc(r->cur, cap);
                if (p == NULL) {
                        r->oom = 1;
                        return;
                }
                r->cur = p;
                r->cur_cap = cap;
        }
        if (r->cur_n * 2 + 2 > r->cur_off_cap) {
                size_t cap = r->cur_off_cap ? r->cur_off_cap * 2 : 64;
                size_t *p = realloc(r->cur_off, cap * sizeof(*p));

                if (p == NULL) {
                        r->oom = 1;
                        return;
                }
                r->cur_off = p;
                r->cur_off_cap = cap;
        }
        if (len > 0)
                memcpy(r->cur + r->cur_len, s, len);
        r->cur_off[r->cur_n * 2] = r->cur_len;
        r->cur_off[r->cur_n * 2 + 1] = r->cur_len + len;
        r->cur_len += len;
        r->cur_n++;
}

static int field_has_bad_text(const char *s, size_t len)
{
        if (!zz_feed_utf8_valid(s, len))
                return 1;
        size_t i;

        for (i = 0; i + 3 <= len; i++) {
                if (memcmp(s + i, "\xEF\xBF\xBD", 3) == 0)
                        return 1;
        }
        return 0;
}

static void cb_row(int c, void *ctx)
{
        zz_feed_reader_t *r = ctx;
        zz_feed_row_t *row;
        size_t i;
        int blank = 1;

        (void)c;
        r->row_started = 0;
        if (r->oom)
                return;
        for (i = 0; i < r->cur_n; i++) {
                if (r->cur_off[i * 2 + 1] > r->cur_off[i * 2])
                        blank = 0;
        }
        if (r->long_field != 0 || r->long_row)
                blank = 0; /* its text was dropped, not absent */
        if (blank || r->cur_n == 0) {
                r->cur_n = 0;
                r->cur_len = 0;
                return;
        }
        if (r->n_rows == r->rows_cap) {
                size_t cap = r->rows_cap ? r->rows_cap * 2 : 256;
                zz_feed_row_t *p = realloc(r->rows, cap * sizeof(*p));

                if (p == NULL) {
                        r->oom = 1;
                        return;
                }
                r->rows = p;
                r->rows_cap = cap;
        }
        row = &r->rows[r->n_rows];
        row->line = r->row_start_line;
        row->n_fields = r->cur_n;
        row->bad_text = 0;
        row->long_field = r->long_field;
        row->long_row = r->long_row;
        r->long_field = 0;
        r->long_row = 0;
        row->fields = zz_arena_alloc(r->arena, r->cur_n * sizeof(char *));
        row->lens = zz_arena_alloc(r->arena, r->cur_n * sizeof(size_t));
        if (row->fields == NULL || row->lens == NULL) {
                r->oom = 1;
                return;
        }
        for (i = 0; i < r->cur_n; i++) {
                size_t a = r->cur_off[i * 2];
                size_t b = r->cur_off[i * 2 + 1];

                row->fields[i] = zz_arena_strndup(r->arena, r->cur + a, b - a);
                row->lens[i] = b - a;
                if (row->fields[i] == NULL) {
                        r->oom = 1;
                        return;
                }
                if (field_has_bad_text(r->cur + a, b - a))
                        row->bad_text = 1;
        }
        r->n_rows++;
        r->cur_n = 0;
        r->cur_len = 0;
}

static int has_text(const char *s, size_t len)
{
        size_t i;

        for (i = 0; i < len; i++) {
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                        return 1;
        }
        return 0;
}

/* After each piece fed to libcsv: a field being built over the field
 * limit, or a row over the row limit, is marked, and libcsv's buffer of
 * the field is emptied (its state is public; spaces counts the blanks at
 * the end of that buffer, so it goes too). The text of a 100 MB field is
 * thus dropped a piece at a time (a piece is at most one chunk) instead
 * of held whole. */
static void check_limits(zz_feed_reader_t *r)
{
        size_t pos = r->csv.entry_pos;
        int over_field = pos > r->max_field;
        int over_row = r->cur_len + r->cur_n + pos > r->max_row;

        if (over_field && r->long_field == 0 && !r->long_row)
                r->long_field = r->cur_n + 1;
        else if (over_row)
                r->long_row = 1;
        if (over_field || over_row || r->long_row ||
            r->long_field == r->cur_n + 1) {
                r->csv.entry_pos = 0;
                r->csv.spaces = 0;
        }
}

/* Feeds r->text to libcsv line by line. */
static int feed_text(zz_feed_reader_t *r, char *errstr, size_t errstr_size)
{
        const char *p = r->text;
        const char *end;

        if (r->text_len == 0)
                return 0; /* r->text may be NULL: no arithmetic on it */
        end = r->text + r->text_len;
        if (r->at_start && r->text_len > 0) {
                if (r->text_len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                        p += 3;
                r->at_start = 0;
        }
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

                if (!r->row_started && has_text(p, n)) {
                        r->row_started = 1;
                        r->row_start_line = r->line;
                }
                if (csv_parse(&r->csv, p, n, cb_field, cb_row, r) != n) {
                        snprintf(errstr, errstr_size, "line %zu: %s", r->line,
                                 csv_strerror(csv_error(&r->csv)));
                        return -1;
                }
                if (r->oom) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                check_limits(r);
                if (nl != NULL)
                        r->line++;
                p += n;
        }
        return 0;
}

static int fill(zz_feed_reader_t *r, char *errstr, size_t errstr_size)
{
        /* The first chunk was read by reader_new. */
        if (r->offset > 0 || r->eof) {
                if (convert_chunk(r) != 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                if (feed_text(r, errstr, errstr_size) != 0)
                        return -1;
        }
        if (r->eof) {
                /* libcsv only reports an open quote at the end in strict
                 * mode, which would also refuse every stray quote inside
                 * a field; its state is public, so look: FIELD_BEGUN (2)
                 * in a quoted field. */
                if ((r->csv.pstate == 2 && r->csv.quoted) ||
                    csv_fini(&r->csv, cb_field, cb_row, r) != 0) {
                        snprintf(errstr, errstr_size,
                                 "line %zu: quoted field not closed at the "
                                 "end of the file (truncated file?)",
                                 r->row_start_line);
                        return -1;
                }
                r->done = 1;
                return 0;
        }
        {
                size_t n = fread(r->raw + r->raw_len, 1,
                                 ZZ_FEED_CHUNK - r->raw_len, r->fp);

                if (ferror(r->fp)) {
                        snprintf(errstr, errstr_size,
                                 "could not read input: %s", strerror(errno));
                        return -1;
                }
                r->raw_len += n;
                r->offset += n;
                if (n == 0 || feof(r->fp))
                        r->eof = 1;
        }
        return 0;
}

int zz_feed_reader_next(zz_feed_reader_t *r, zz_feed_row_t **row, char *errstr,
                        size_t errstr_size)
{
        while (r->head >= r->n_rows) {
                if (r->done)
                        return 0;
                r->head = 0;
                r->n_rows = 0;
                zz_arena_reset(r->arena);
                if (fill(r, errstr, errstr_size) != 0)
                        return -1;
        }
        *row = &r->rows[r->head++];
        return 1;
}
