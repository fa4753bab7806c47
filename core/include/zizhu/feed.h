/*
 * feed.h — department files in: CSV reading, encoding detection, row
 * validation, stable event ids, reject files and snapshot diffs.
 *
 * Departments send spreadsheets exported as CSV, often in GBK/GB18030.
 * A zz_feed_reader_t turns a file into rows of UTF-8 fields (libcsv does
 * the quoting: embedded commas, quotes and newlines), remembering the
 * physical line each row starts on. zz_feed_read_file maps the header
 * row (the column names a clerk recognizes, see deploy/templates/) and
 * turns each data row into a zz_feed_record_t, or rejects it with a
 * reason into the reject file beside the input (the row parser and the
 * reject file themselves are internal: core/src/feed/feed_int.h). Only the
 * Kafka sink and zz_feed_positions_query talk to Kafka; PostgreSQL is
 * used only by zz_feed_snapshot_load / _lock / _store. zizhu-feed
 * (producers/zizhu-feed) wires it together.
 *
 * Event ids are derived from the department and the content of the record
 * (never from the time it was fed), so feeding the same file twice
 * produces the same events, which the workers then ignore.
 *
 * Records hold ID numbers: never log a record, only its event id and line.
 */
#ifndef ZIZHU_FEED_H
#define ZIZHU_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zizhu/codec.h"
#include "zizhu/date.h"
#include "zizhu/money.h"

/* ------------------------------------------------------------------ */
/* Encodings                                                           */

typedef enum zz_feed_enc_e {
        ZZ_FEED_ENC_AUTO = 0, /* detect from the BOM or the header line */
        ZZ_FEED_ENC_UTF8,
        ZZ_FEED_ENC_GB18030 /* also GBK and GB2312, its subsets */
} zz_feed_enc_t;

/* "auto", "utf-8"/"utf8", "gb18030"/"gbk"/"gb2312". -1 when unknown. */
int zz_feed_enc_parse(const char *name, zz_feed_enc_t *out);
const char *zz_feed_enc_name(zz_feed_enc_t enc); /* "UTF-8", "GB18030" */
/* UTF-8 when buf starts with a UTF-8 BOM or its first line (the header)
 * is valid UTF-8 (a sequence cut by the end of the sample is allowed),
 * else GB18030. */
zz_feed_enc_t zz_feed_enc_detect(const unsigned char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* CSV reader                                                          */

typedef struct zz_feed_row_s {
        size_t line;     /* physical line (1-based) the row starts on */
        size_t n_fields; /* at least 1 */
        char **fields;   /* UTF-8, NUL-terminated, surrounding blanks
                          * trimmed */
        size_t *lens;    /* bytes of each field: more than its strlen
                          * when it holds a NUL byte (a row the parser
                          * rejects, naming the column) */
        int bad_text;    /* some bytes were not valid text in the file's
                          * encoding (replaced by U+FFFD) */
        /* Over the reader's limits (zz_feed_reader_set_limits): the
         * 1-based column of a field longer than the field limit, 0 when
         * none; 1 when the row is longer than the row limit. The text
         * over a limit is dropped as it is read, never held whole: such
         * a row is only good for a reject line. */
        size_t long_field;
        int long_row;
} zz_feed_row_t;

typedef struct zz_feed_reader_s zz_feed_reader_t;

/* Opens path ("-" is standard input) for reading. enc AUTO detects from
 * the first 64 KiB. NULL with errstr on failure. */
zz_feed_reader_t *zz_feed_reader_open(const char *path, zz_feed_enc_t enc,
                                      char *errstr, size_t errstr_size);
/* Same over a copy of buf (tests). */
zz_feed_reader_t *zz_feed_reader_open_mem(const void *buf, size_t len,
                                          zz_feed_enc_t enc, char *errstr,
                                          size_t errstr_size);
/* Accepts NULL. */
void zz_feed_reader_destroy(zz_feed_reader_t *reader);

/* Generous for any real department file (a field is an id, a date, a
 * label; a row about twenty of them), small enough that a hostile file
 * cannot make the reader hold hundreds of megabytes. */
#define ZZ_FEED_MAX_FIELD_BYTES (64 * 1024)
#define ZZ_FEED_MAX_ROW_BYTES   (1024 * 1024)

/* Sets the largest field and row (bytes of UTF-8 text, a row's cells
 * counted with their separators) the reader keeps; 0 leaves the default
 * (ZZ_FEED_MAX_FIELD_BYTES, ZZ_FEED_MAX_ROW_BYTES). A row over them is
 * still returned, with long_field / long_row set. */
void zz_feed_reader_set_limits(zz_feed_reader_t *reader, size_t max_field,
                               size_t max_row);

/* Next non-blank row: 1 and *row set (owned by the reader, valid until the
 * next call), 0 at the end of the file, -1 with errstr on a read error or
 * a quoted field left open at the end (a truncated file). */
int zz_feed_reader_next(zz_feed_reader_t *reader, zz_feed_row_t **row,
                        char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------ */
/* Records                                                             */

typedef enum zz_feed_kind_e {
        ZZ_FEED_IDENTITY = 0,
        ZZ_FEED_ENROLLMENT,
        ZZ_FEED_PAYMENT,
        ZZ_FEED_CONTROL
} zz_feed_kind_t;

/* Symbols as in the schemas (schemas/<stream>.avsc) (the enum value is the
 * symbol's index). */
typedef enum zz_feed_id_action_e {
        ZZ_FEED_ID_GRANT = 1,
        ZZ_FEED_ID_END = 2,
        ZZ_FEED_ID_CORRECT = 3,
        ZZ_FEED_ID_REVOKE = 4,
        ZZ_FEED_ID_DECEASED = 5
} zz_feed_id_action_t;

typedef enum zz_feed_enr_action_e {
        ZZ_FEED_ENR_REGISTER = 1,
        ZZ_FEED_ENR_CANCEL = 2
} zz_feed_enr_action_t;

typedef enum zz_feed_class_e {
        ZZ_FEED_CLASS_ADULT = 1,
        ZZ_FEED_CLASS_STUDENT_CHILD = 2,
        ZZ_FEED_CLASS_COLLEGE = 3
} zz_feed_class_t;

typedef enum zz_feed_enr_kind_e {
        ZZ_FEED_KIND_ANNUAL = 1,
        ZZ_FEED_KIND_MID_YEAR = 2
} zz_feed_enr_kind_t;

typedef enum zz_feed_pay_kind_e {
        ZZ_FEED_PAY_PAYMENT = 1,
        ZZ_FEED_PAY_REFUND = 2
} zz_feed_pay_kind_t;

typedef enum zz_feed_command_e {
        ZZ_FEED_CMD_CLOSE_PERIOD = 1,
        ZZ_FEED_CMD_ACTIVATE_POLICY = 2
} zz_feed_command_t;

const char *zz_feed_id_action_name(int action);   /* "GRANT" */
const char *zz_feed_enr_action_name(int action);  /* "REGISTER" */
const char *zz_feed_class_name(int enroll_class); /* "ADULT" */
const char *zz_feed_enr_kind_name(int kind);      /* "ANNUAL" */
const char *zz_feed_pay_kind_name(int kind);      /* "PAYMENT" */
const char *zz_feed_command_name(int command);    /* "CLOSE_PERIOD" */

#define ZZ_FEED_EVENT_ID_SIZE 48 /* "id-MCA-" + 32 hex digits + NUL */
#define ZZ_FEED_REF_SIZE      64 /* record ids, households, receipts */
#define ZZ_FEED_CATEGORY_SIZE 32
#define ZZ_FEED_ATTRS_SIZE    192
#define ZZ_FEED_REGION_SIZE   16
#define ZZ_FEED_DEPT_SIZE     8

typedef struct zz_feed_identity_s {
        char person_id[19];
        char department[ZZ_FEED_DEPT_SIZE];
        char dept_record_id[ZZ_FEED_REF_SIZE];
        int action;                           /* zz_feed_id_action_t */
        char category[ZZ_FEED_CATEGORY_SIZE]; /* "" for DECEASED */
        /* Canonical attributes: "key=value;key=value", keys sorted. */
        char attrs[ZZ_FEED_ATTRS_SIZE];
        zz_date_t valid_from;
        zz_date_t valid_to;    /* ZZ_DATE_NONE: open */
        zz_date_t deceased_on; /* ZZ_DATE_NONE unless DECEASED */
        char approving_region[ZZ_FEED_REGION_SIZE];
        char residence_region[ZZ_FEED_REGION_SIZE]; /* "" = null */
        zz_ts_t reported_at;
} zz_feed_identity_t;

typedef struct zz_feed_enrollment_s {
        char person_id[19];
        char department[ZZ_FEED_DEPT_SIZE]; /* "NHSA" */
        char dept_record_id[ZZ_FEED_REF_SIZE];
        int action; /* zz_feed_enr_action_t */
        char household_id[ZZ_FEED_REF_SIZE];
        int year;
        int tier;
        int enroll_class; /* zz_feed_class_t */
        int kind;         /* zz_feed_enr_kind_t */
        zz_date_t registered_on;
        char region[ZZ_FEED_REGION_SIZE];
        char unit[ZZ_FEED_REF_SIZE]; /* "" = null */
        zz_ts_t reported_at;
} zz_feed_enrollment_t;

typedef struct zz_feed_payment_s {
        char person_id[19];
        char department[ZZ_FEED_DEPT_SIZE]; /* "TAX" */
        char dept_record_id[ZZ_FEED_REF_SIZE];
        int kind; /* zz_feed_pay_kind_t */
        int year;
        zz_fen_t contribution_fen;
        zz_fen_t subsidy_applied_fen; /* after this event */
        zz_fen_t paid_fen;            /* after this event */
        zz_fen_t refund_fen;          /* > 0 for a REFUND, else 0 */
        zz_ts_t paid_at;
        char receipt[ZZ_FEED_REF_SIZE];
} zz_feed_payment_t;

/* A position in an input partition: Control.positions (control.avsc). */
#define ZZ_FEED_TOPIC_SIZE 256 /* Kafka's longest topic name is 249 bytes */

typedef struct zz_feed_position_s {
        char topic[ZZ_FEED_TOPIC_SIZE]; /* full name, prefix included */
        int32_t partition;
        int64_t offset; /* of the first message not in the period */
} zz_feed_position_t;

typedef struct zz_feed_control_s {
        char department[ZZ_FEED_DEPT_SIZE]; /* "NHSA", "FIN" */
        char dept_record_id[ZZ_FEED_REF_SIZE];
        int command; /* zz_feed_command_t */
        char jurisdiction[ZZ_FEED_REF_SIZE];
        char period[ZZ_FEED_REF_SIZE];             /* "" = null */
        char policy_name[ZZ_FEED_REF_SIZE];        /* "" = null */
        char policy_version[ZZ_FEED_REF_SIZE + 8]; /* "" = null */
        zz_ts_t issued_at;
        /* CLOSE_PERIOD: the boundary of the period, one position per input
         * partition; borrowed (the caller keeps the array alive while the
         * record is used). NULL = null. Not part of the event id: a close
         * re-issued later, with other positions, is the same command. */
        const zz_feed_position_t *positions;
        size_t n_positions;
} zz_feed_control_t;

typedef struct zz_feed_record_s {
        zz_feed_kind_t kind;
        size_t line; /* in the input file, 0 when not from a file */
        char event_id[ZZ_FEED_EVENT_ID_SIZE];
        union {
                zz_feed_identity_t identity;
                zz_feed_enrollment_t enrollment;
                zz_feed_payment_t payment;
                zz_feed_control_t control;
        } u;
} zz_feed_record_t;

/* Computes rec->event_id from the record's kind, department and content
 * (not from reported_at/issued_at or the line: the same fact reported
 * again is the same event). Format "<kind>-<dept>-<32 hex>", e.g.
 * "id-MCA-…", "en-NHSA-…", "pay-TAX-…", "ctl-NHSA-…". */
void zz_feed_event_id(zz_feed_record_t *rec);

/* The key of the record's Kafka message (the person's ID number, or the
 * jurisdiction for a control command). Borrowed from rec. */
const char *zz_feed_record_key(const zz_feed_record_t *rec);

/* One JSON object describing the record (the --dry-run output and the
 * loadgen file format), without a newline, into buf. Contains the ID
 * number: data, not a log line. -1 when buf is too small. */
int zz_feed_record_to_json(const zz_feed_record_t *rec, char *buf,
                           size_t buf_size);

/* ------------------------------------------------------------------ */
/* Departments and categories                                          */

/* A department code (MCA, RRB, DPF, NHC, MVA, EDU) from a code or a
 * Chinese name ("民政", "残联", "乡村振兴局", ...). NULL when unknown. */
const char *zz_feed_department_code(const char *name);
/* A category code from a code ("MCA.DIBAO") or a clerk's label ("低保",
 * "特困供养人员", "持证残疾人", ...). NULL when unknown. */
const char *zz_feed_category_code(const char *label);

/* ------------------------------------------------------------------ */
/* Options of a file, dates and times                                 */

typedef struct zz_feed_options_s {
        zz_feed_kind_t kind; /* IDENTITY, ENROLLMENT or PAYMENT */
        /* IDENTITY: the department whose list this is (a code); rows of
         * another department are rejected. NULL: from the 部门标识
         * column. */
        const char *department;
        /* reported_at for rows without a 报送时间 column or value. */
        zz_ts_t default_reported_at;
        /* IDENTITY: a full snapshot; the 变动类型 column is ignored and
         * every row is a GRANT of what the department recognizes now
         * (or DECEASED when 生存状况 says so). A second row with the
         * same 人员编号 is rejected (the first one is kept). */
        int snapshot;
        /* zz_feed_read_file: called for each rejected row with its
         * 人员编号 when it could be read (else NULL), e.g. so that a
         * snapshot keeps the previous state of a record whose new row is
         * bad instead of ending it. May be NULL. */
        void (*on_reject)(size_t line, const char *record_id, void *opaque);
        void *reject_opaque;
        /* zz_feed_read_file: a row with a field or a row longer than this
         * is rejected ("longer than N bytes"); 0 is the default
         * (ZZ_FEED_MAX_FIELD_BYTES, ZZ_FEED_MAX_ROW_BYTES). */
        size_t max_field_bytes;
        size_t max_row_bytes;
} zz_feed_options_t;

/* Lenient date: "2019-10-15", "2019/10/5", "2019.10.15", "20191015",
 * "2019年10月15日". 0 or -1. */
int zz_feed_parse_date(const char *s, zz_date_t *out);
/* A date or a date and time ("2019-10-15 10:00[:00]", ISO 8601); no
 * offset means China Standard Time. 0 or -1. */
int zz_feed_parse_ts(const char *s, zz_ts_t *out);

/* ------------------------------------------------------------------ */
/* A whole file                                                        */

/* Called for each valid record; non-zero stops the file (that value is
 * returned by zz_feed_read_file). rec is borrowed for the call. */
typedef int (*zz_feed_record_cb)(const zz_feed_record_t *rec, void *opaque);
/* Called now and then with bytes read and the file size (0: unknown). */
typedef void (*zz_feed_progress_cb)(uint64_t offset, uint64_t size,
                                    void *opaque);

typedef struct zz_feed_stats_s {
        size_t rows;     /* data rows read (header excluded) */
        size_t records;  /* rows that became records */
        size_t rejected; /* rows written to the reject file */
        uint64_t bytes;
        zz_feed_enc_t encoding; /* as given or detected */
        size_t unknown_columns;
        char rejects_path[4096]; /* "" when nothing was rejected */
} zz_feed_stats_t;

/* Reads path ("-": stdin) as a file of options->kind: header, then every
 * row, each valid one to on_record, each bad one (a value not valid, a
 * NUL byte, a value in a cell past the header's last column, a field or
 * a row over the limits, a snapshot's 人员编号 listed twice) to the
 * reject file beside the input ("<input>.rejects.csv", or
 * "stdin.rejects.csv": UTF-8 with a BOM, 行号,原因,身份证号码(masked),
 * 人员编号; a stale one is removed). 0 when the file was read to the end
 * (rows may have been rejected); -1 with errstr when the file as a whole
 * is refused (no such file or no header row, a required column missing,
 * a header cell with a NUL byte or over the limits, a quoted field left
 * open by a truncated file, the reject file not writable); or the
 * non-zero value
 * on_record returned. progress may be NULL. */
int zz_feed_read_file(const char *path, zz_feed_enc_t enc,
                      const zz_feed_options_t *options,
                      zz_feed_record_cb on_record, void *opaque,
                      zz_feed_progress_cb progress, void *progress_opaque,
                      zz_feed_stats_t *stats, char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------ */
/* Encoding and sending (feed_event.c, feed_sink.c)                    */

/* Turns records into Avro single-object messages through event.h and
 * codec.h, checking each with zz_event_validate_* first. */
typedef struct zz_feed_encoder_s zz_feed_encoder_t;

zz_feed_encoder_t *zz_feed_encoder_new(char *errstr, size_t errstr_size);
void zz_feed_encoder_destroy(zz_feed_encoder_t *enc); /* accepts NULL */
/* The encoder's codec (borrowed), for zz_registry_attach. */
zz_codec_t *zz_feed_encoder_codec(zz_feed_encoder_t *enc);
/* Encodes rec. *data (owned by the encoder, valid until the next call)
 * and *len receive the message. -1 with errstr when the record does not
 * pass the event's validation or cannot be encoded. */
int zz_feed_encode(zz_feed_encoder_t *enc, const zz_feed_record_t *rec,
                   const void **data, size_t *len, char *errstr,
                   size_t errstr_size);

/* Where records go: Kafka (the stream's topic, keyed by
 * zz_feed_record_key; an identity record goes to its department's topic,
 * zz_config_identity_stream), JSON lines, CSV files in the templates' format
 * (one per department, enrollment, payment and control, so that
 * zizhu-feed can read them back), or nowhere (counting only). */
typedef struct zz_feed_sink_s zz_feed_sink_t;
struct zz_config_s;

/* A librdkafka producer tuned for throughput (idempotent, acks=all,
 * lz4, linger.ms=20, large batches); the config's -X properties apply
 * last. */
zz_feed_sink_t *zz_feed_sink_kafka(const struct zz_config_s *config,
                                   char *errstr, size_t errstr_size);
/* fp is borrowed. */
zz_feed_sink_t *zz_feed_sink_jsonl(FILE *fp, char *errstr, size_t errstr_size);
/* Creates dir if needed; files are written as records of each kind and
 * department arrive. */
zz_feed_sink_t *zz_feed_sink_csv(const char *dir, char *errstr,
                                 size_t errstr_size);
zz_feed_sink_t *zz_feed_sink_null(char *errstr, size_t errstr_size);

/* Sends one record. -1 with errstr on an encoding or a local queue error
 * (delivery failures are counted: zz_feed_sink_flush then fails). */
int zz_feed_sink_put(zz_feed_sink_t *sink, const zz_feed_record_t *rec,
                     char *errstr, size_t errstr_size);
/* Waits until everything is delivered (Kafka) or written. -1 with errstr
 * on a timeout or when any message failed. */
int zz_feed_sink_flush(zz_feed_sink_t *sink, int timeout_ms, char *errstr,
                       size_t errstr_size);
uint64_t zz_feed_sink_sent(const zz_feed_sink_t *sink);
void zz_feed_sink_destroy(zz_feed_sink_t *sink); /* accepts NULL */

/* Parses "topic:partition:offset,..." (the --positions option of
 * zizhu-feed close; the topic is the full name, prefix included, made of
 * the characters Kafka allows: letters, digits, '.', '_', '-'). *out is
 * malloc'd (free() it), NULL with *n 0 for an empty string. -1 with errstr
 * on a malformed element, a negative number, or a partition named twice. */
int zz_feed_positions_parse(const char *s, zz_feed_position_t **out, size_t *n,
                            char *errstr, size_t errstr_size);

/* The current end (high watermark, i.e. the offset the next message will
 * get) of every partition of the input topics: each department's identity
 * topic (<prefix>identity.mca ... <prefix>identity.edu, config.h),
 * <prefix>enrollment and <prefix>payment, from the cluster's metadata and
 * ListOffsets: what a CLOSE_PERIOD sent now carries as its positions.
 * *out is malloc'd (free() it), ordered by topic then partition. -1 with
 * errstr when a topic does not exist or the cluster does not answer
 * within timeout_ms (per request). */
int zz_feed_positions_query(const struct zz_config_s *config, int timeout_ms,
                            zz_feed_position_t **out, size_t *n, char *errstr,
                            size_t errstr_size);

/* ------------------------------------------------------------------ */
/* Snapshots: a department's full list against its previous one        */

/* A set of identity records of one department, keyed by dept_record_id.
 * Grows as needed. */
typedef struct zz_feed_snapshot_s zz_feed_snapshot_t;

zz_feed_snapshot_t *zz_feed_snapshot_new(const char *department);
void zz_feed_snapshot_destroy(zz_feed_snapshot_t *snap); /* accepts NULL */
/* Adds a copy of rec (an identity record). -1 on out of memory; 1 when a
 * record with the same dept_record_id is already present (not added). */
int zz_feed_snapshot_add(zz_feed_snapshot_t *snap,
                         const zz_feed_identity_t *rec);
size_t zz_feed_snapshot_count(const zz_feed_snapshot_t *snap);
const zz_feed_identity_t *zz_feed_snapshot_get(const zz_feed_snapshot_t *snap,
                                               size_t i);

typedef struct zz_feed_diff_s {
        zz_feed_record_t *events; /* malloc'd; free with zz_feed_diff_free */
        size_t n_events;
        size_t grants;  /* records new in this snapshot */
        size_t changes; /* CORRECT: content changed */
        size_t ends;    /* END: gone from the list, or newly ended */
        size_t deaths;  /* DECEASED: newly reported dead */
        size_t unchanged;
        size_t prev_active; /* active records of the previous snapshot */
        int refused;        /* ends > max_end_share * prev_active, not forced */
} zz_feed_diff_t;

/* Compares the current snapshot (cur, as of as_of) with prev. A record
 * present in prev but absent from cur ends on as_of - 1 (its last day);
 * one whose content changed is a CORRECT, or an END when only its end
 * date appeared; one newly dead a DECEASED. max_end_share is a fraction
 * (0.05 = 5 %). When the ends exceed it and force is 0, out->refused is
 * set and no events are produced. reported_at is that of the END events.
 * Events are in a deterministic order (by record id). 0, or -1 on out of
 * memory. */
int zz_feed_snapshot_diff(const zz_feed_snapshot_t *prev,
                          const zz_feed_snapshot_t *cur, zz_date_t as_of,
                          zz_ts_t reported_at, double max_end_share, int force,
                          zz_feed_diff_t *out);
void zz_feed_diff_free(zz_feed_diff_t *diff);

/* PostgreSQL keeps each department's last accepted snapshot (tables of
 * sql/010_feed.sql). conn is a libpq PGconn (void * here so that this
 * header does not need libpq-fe.h). Load returns an empty snapshot when
 * the department has none yet. */
zz_feed_snapshot_t *zz_feed_snapshot_load(void *conn, const char *department,
                                          char *errstr, size_t errstr_size);
/* Takes a session advisory lock for the department (released when the
 * connection closes), so that two runs for one department never
 * interleave. */
int zz_feed_snapshot_lock(void *conn, const char *department, char *errstr,
                          size_t errstr_size);
/* Replaces the stored snapshot by cur, and records the run (file digest,
 * counts) in zizhu.feed_snapshot_run, in one transaction. */
int zz_feed_snapshot_store(void *conn, const zz_feed_snapshot_t *cur,
                           zz_date_t as_of, const char *file_sha256,
                           const zz_feed_diff_t *diff, int forced, char *errstr,
                           size_t errstr_size);

/* Hex SHA-256 of a file (65 bytes). 0 or -1 with errstr. */
int zz_feed_file_sha256(const char *path, char out[65], char *errstr,
                        size_t errstr_size);

#endif
