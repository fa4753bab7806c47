/*
 * feed_int.h — what the parts of the feed share among themselves: the
 * row parser (zz_feed_t), the reject file, the reader's position, the
 * CSV template writer and the sink's counters. Not installed: only
 * core/src/feed_*.c may include it. Programs, tests and the load
 * generator use zizhu/feed.h (zz_feed_read_file reads a whole file with
 * all of this).
 */
#ifndef ZIZHU_FEED_INT_H
#define ZIZHU_FEED_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zizhu/feed.h"

/* ---- text (feed_csv.c) ---- */

/* 1 when s[0..len) is valid UTF-8. */
int zz_feed_utf8_valid(const char *s, size_t len);

zz_feed_enc_t zz_feed_reader_encoding(const zz_feed_reader_t *reader);
/* Bytes of the input consumed so far, and its size (0 when unknown). */
uint64_t zz_feed_reader_offset(const zz_feed_reader_t *reader);
uint64_t zz_feed_reader_size(const zz_feed_reader_t *reader);

/* ---- rows (feed_row.c) ---- */

const char *zz_feed_kind_name(zz_feed_kind_t kind); /* "identity" */

typedef struct zz_feed_s zz_feed_t;

zz_feed_t *zz_feed_new(const zz_feed_options_t *options, char *errstr,
                       size_t errstr_size);
void zz_feed_destroy(zz_feed_t *feed); /* accepts NULL */

/* Maps the header row. -1 with errstr naming the missing column when a
 * required one is absent, or the column holding a NUL byte (the whole
 * file is refused). Unknown columns
 * are ignored; *n_unknown (may be NULL) says how many. */
int zz_feed_header(zz_feed_t *feed, const zz_feed_row_t *row, size_t *n_unknown,
                   char *errstr, size_t errstr_size);

/* Validates one data row. 0: *rec filled, event id included. 1: rejected,
 * reason holds a short message (no ID number, no name). */
int zz_feed_parse_row(zz_feed_t *feed, const zz_feed_row_t *row,
                      zz_feed_record_t *rec, char *reason, size_t reason_size);

/* ---- reject files (feed_reject.c) ---- */

typedef struct zz_feed_rejects_s zz_feed_rejects_t;

/* The reject file of input is "<input>.rejects.csv" beside it (UTF-8 with
 * a BOM, for spreadsheets): 行号,原因,身份证号码(masked),人员编号. It is
 * created on the first reject; a stale one from an earlier run is removed
 * here. For "-" (stdin) it is "stdin.rejects.csv". */
zz_feed_rejects_t *zz_feed_rejects_new(const char *input, char *errstr,
                                       size_t errstr_size);
/* Appends one line. person_id and record_id may be NULL or invalid; the
 * number is masked and the reason scrubbed. -1 on a write error. */
int zz_feed_rejects_add(zz_feed_rejects_t *rejects, size_t line,
                        const char *reason, const char *person_id,
                        const char *record_id);
size_t zz_feed_rejects_count(const zz_feed_rejects_t *rejects);
const char *zz_feed_rejects_path(const zz_feed_rejects_t *rejects);
/* Closes the file; -1 when it could not be written. Accepts NULL. */
int zz_feed_rejects_close(zz_feed_rejects_t *rejects);

/* The masked ID number of a raw field, for reject lines ("" if none). */
void zz_feed_mask_field(const char *s, char out[19]);

/* ---- sinks (feed_sink.c) ---- */

uint64_t zz_feed_sink_failed(const zz_feed_sink_t *sink);
uint64_t zz_feed_sink_bytes(const zz_feed_sink_t *sink);

/* Writes the template header of a kind (identity: of department dept)
 * and one record as a CSV row in that template. */
void zz_feed_csv_header(FILE *fp, zz_feed_kind_t kind);
void zz_feed_csv_row(FILE *fp, const zz_feed_record_t *rec);

/* ---- snapshots (feed_snapshot.c) ---- */

/* FNV-1a of a string: the hash of the sets of record ids (the snapshot,
 * and the ids seen in a file read as a snapshot in feed_file.c). */
uint64_t zz_feed_hash(const char *s);

/* Records that are active: not ended before as_of, person alive. */
size_t zz_feed_snapshot_active(const zz_feed_snapshot_t *snap, zz_date_t as_of);

#endif
