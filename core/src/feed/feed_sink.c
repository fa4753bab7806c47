/*
 * feed_sink.c — where producers put records: Kafka, JSON lines, CSV files
 * in the templates' format, or nowhere.
 *
 * The Kafka sink is tuned for a producer that has a whole file (or a
 * synthetic province) to send: idempotent so that a retried batch is not
 * duplicated, acks=all, lz4 compression, a short linger and large batches.
 * Messages are keyed by the person's ID number, so that all facts about a
 * person land in one partition (and one worker). Any -X property given by
 * the operator is applied after these defaults.
 */
#include "feed_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <librdkafka/rdkafka.h>

#include "zizhu/catalog.h"
#include "zizhu/config.h"
#include "zizhu/csvcell.h"
#include "zizhu/kafka.h"
#include "zizhu/registry.h"
#include "zizhu/vocab.h"

enum zz_sink_type { SINK_KAFKA, SINK_JSONL, SINK_CSV, SINK_NULL };

#define ZZ_SINK_MAX_FILES 16

struct zz_csv_file {
        char name[32];
        FILE *fp;
};

struct zz_feed_sink_s {
        enum zz_sink_type type;
        zz_feed_encoder_t *enc;
        rd_kafka_t *rk;
        /* by kind; identity by department (zz_vocab_dept index) */
        rd_kafka_topic_t *topics[4];
        rd_kafka_topic_t *identity[ZZ_VOCAB_DEPTS];
        FILE *fp;
        char *dir;
        struct zz_csv_file files[ZZ_SINK_MAX_FILES];
        size_t n_files;
        uint64_t sent;
        uint64_t bytes;
        volatile uint64_t delivered;
        volatile uint64_t failed;
        char last_error[256];
};

static zz_feed_sink_t *sink_new(enum zz_sink_type type, char *errstr,
                                size_t errstr_size)
{
        zz_feed_sink_t *s = calloc(1, sizeof(*s));

        if (s == NULL)
                snprintf(errstr, errstr_size, "out of memory");
        else
                s->type = type;
        return s;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        zz_feed_sink_t *s = opaque;

        (void)rk;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                s->failed++;
                snprintf(s->last_error, sizeof(s->last_error), "%s",
                         rd_kafka_err2str(m->err));
        } else {
                s->delivered++;
        }
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                    char *errstr, size_t errstr_size)
{
        char err[256];

        if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "kafka property %s: %s", k, err);
                return -1;
        }
        return 0;
}

zz_feed_sink_t *zz_feed_sink_kafka(const zz_config_t *config, char *errstr,
                                   size_t errstr_size)
{
        static const char *const defaults[][2] = {
            {"enable.idempotence", "true"},
            {"acks", "all"},
            {"compression.type", "lz4"},
            {"linger.ms", "20"},
            {"batch.num.messages", "10000"},
            {"batch.size", "1000000"},
            {"queue.buffering.max.messages", "1000000"},
            {"queue.buffering.max.kbytes", "1048576"},
            {"message.timeout.ms", "120000"},
        };
        /* by kind; identity is one topic per department, not one */
        static const char *const streams[4] = {NULL, "enrollment", "payment",
                                               "control"};
        zz_feed_sink_t *s = sink_new(SINK_KAFKA, errstr, errstr_size);
        rd_kafka_conf_t *conf;
        char err[512];
        size_t i;

        if (s == NULL)
                return NULL;
        s->enc = zz_feed_encoder_new(errstr, errstr_size);
        if (s->enc == NULL) {
                free(s);
                return NULL;
        }
        /* The topics' framing, and the schemas in the catalog before the
         * first message. */
        if (zz_registry_attach(config, zz_feed_encoder_codec(s->enc), errstr,
                               errstr_size) != 0 ||
            zz_catalog_publish(config, zz_feed_encoder_codec(s->enc), errstr,
                               errstr_size) != 0) {
                zz_feed_encoder_destroy(s->enc);
                free(s);
                return NULL;
        }
        conf = rd_kafka_conf_new();
        for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
                if (conf_set(conf, defaults[i][0], defaults[i][1], errstr,
                             errstr_size) != 0)
                        goto fail_conf;
        }
        if (zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0)
                goto fail_conf;
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rd_kafka_conf_set_opaque(conf, s);
        s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (s->rk == NULL) {
                snprintf(errstr, errstr_size, "could not create producer: %s",
                         err);
                goto fail_conf;
        }
        for (i = 0; i < 4 + ZZ_VOCAB_DEPTS; i++) {
                char name[256], stream[ZZ_CONFIG_STREAM_SIZE];
                rd_kafka_topic_t **slot;

                if (i == ZZ_FEED_IDENTITY)
                        continue; /* one topic per department, below */
                if (i < 4) {
                        snprintf(stream, sizeof(stream), "%s", streams[i]);
                        slot = &s->topics[i];
                } else {
                        zz_config_identity_stream(zz_vocab_dept((int)i - 4),
                                                  stream, sizeof(stream));
                        slot = &s->identity[i - 4];
                }
                zz_config_topic(config, stream, name, sizeof(name));
                *slot = rd_kafka_topic_new(s->rk, name, NULL);
                if (*slot == NULL) {
                        snprintf(errstr, errstr_size,
                                 "could not create topic handle %s", name);
                        zz_feed_sink_destroy(s);
                        return NULL;
                }
        }
        return s;
fail_conf:
        rd_kafka_conf_destroy(conf);
        zz_feed_encoder_destroy(s->enc);
        free(s);
        return NULL;
}

zz_feed_sink_t *zz_feed_sink_jsonl(FILE *fp, char *errstr, size_t errstr_size)
{
        zz_feed_sink_t *s = sink_new(SINK_JSONL, errstr, errstr_size);

        if (s != NULL)
                s->fp = fp;
        return s;
}

zz_feed_sink_t *zz_feed_sink_csv(const char *dir, char *errstr,
                                 size_t errstr_size)
{
        zz_feed_sink_t *s;

        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                snprintf(errstr, errstr_size, "could not create %s: %s", dir,
                         strerror(errno));
                return NULL;
        }
        s = sink_new(SINK_CSV, errstr, errstr_size);
        if (s != NULL && (s->dir = strdup(dir)) == NULL) {
                free(s);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        return s;
}

zz_feed_sink_t *zz_feed_sink_null(char *errstr, size_t errstr_size)
{
        return sink_new(SINK_NULL, errstr, errstr_size);
}

/* ------------------------------------------------------------------ */
/* CSV in the templates' format                                        */

/* Quoted only when needed, as a spreadsheet would; a formula is
 * neutralized (zizhu/csvcell.h), and zizhu-feed's reader undoes that, so
 * the file reads back as the same records. */
static void cell(FILE *fp, const char *s, int last)
{
        zz_csvcell_write(fp, s, 0);
        fputc(last ? '\n' : ',', fp);
}

static void cell_date(FILE *fp, zz_date_t d, int last)
{
        char buf[16];

        cell(fp, d == ZZ_DATE_NONE ? "" : zz_date_format(d, buf, sizeof(buf)),
             last);
}

static void cell_ts(FILE *fp, zz_ts_t ts, int last)
{
        char buf[40];

        cell(fp, zz_ts_format(ts, buf, sizeof(buf)), last);
}

static void cell_int(FILE *fp, long long v, int last)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%lld", v);
        cell(fp, buf, last);
}

static void cell_yuan(FILE *fp, zz_fen_t fen, int last)
{
        char buf[32];

        cell(fp, zz_money_format(fen, buf, sizeof(buf)), last);
}

void zz_feed_csv_header(FILE *fp, zz_feed_kind_t kind)
{
        switch (kind) {
        case ZZ_FEED_IDENTITY:
                fputs("归属地,姓名,身份证号码,部门标识,人员编号,生存状况,"
                      "人员身份标识,认定日期,终止日期,变动类型,死亡日期,"
                      "审批地,报送时间,身份属性\n",
                      fp);
                break;
        case ZZ_FEED_ENROLLMENT:
                fputs("身份证号码,姓名,户编号,参保年度,缴费档次,参保类别,"
                      "参保方式,登记日期,参保地,代缴单位,变动类型,"
                      "参保记录号,报送时间\n",
                      fp);
                break;
        case ZZ_FEED_PAYMENT:
                fputs("身份证号码,姓名,参保年度,业务类型,应缴金额,资助金额,"
                      "个人实缴金额,退费金额,缴费时间,票据号,记录号\n",
                      fp);
                break;
        default:
                break;
        }
}

static const char *id_action_cn(int a)
{
        switch (a) {
        case ZZ_FEED_ID_END:
                return "终止";
        case ZZ_FEED_ID_CORRECT:
                return "更正";
        case ZZ_FEED_ID_REVOKE:
                return "撤销";
        case ZZ_FEED_ID_DECEASED:
                return "死亡";
        default:
                return "新增";
        }
}

void zz_feed_csv_row(FILE *fp, const zz_feed_record_t *rec)
{
        switch (rec->kind) {
        case ZZ_FEED_IDENTITY: {
                const zz_feed_identity_t *r = &rec->u.identity;
                int dead = r->action == ZZ_FEED_ID_DECEASED;

                cell(fp,
                     r->residence_region[0] ? r->residence_region
                                            : r->approving_region,
                     0);
                cell(fp, "", 0);
                cell(fp, r->person_id, 0);
                cell(fp, r->department, 0);
                cell(fp, r->dept_record_id, 0);
                cell(fp, dead ? "死亡" : "存活", 0);
                cell(fp, r->category, 0);
                cell_date(fp, dead ? ZZ_DATE_NONE : r->valid_from, 0);
                cell_date(fp, r->valid_to, 0);
                cell(fp, id_action_cn(r->action), 0);
                cell_date(fp, r->deceased_on, 0);
                cell(fp, r->approving_region, 0);
                cell_ts(fp, r->reported_at, 0);
                cell(fp, r->attrs, 1);
                break;
        }
        case ZZ_FEED_ENROLLMENT: {
                const zz_feed_enrollment_t *r = &rec->u.enrollment;

                cell(fp, r->person_id, 0);
                cell(fp, "", 0);
                cell(fp, r->household_id, 0);
                cell_int(fp, r->year, 0);
                cell_int(fp, r->tier, 0);
                cell(fp,
                     r->enroll_class == ZZ_FEED_CLASS_COLLEGE ? "大学生"
                     : r->enroll_class == ZZ_FEED_CLASS_STUDENT_CHILD
                         ? "学生儿童"
                         : "成年居民",
                     0);
                cell(fp,
                     r->kind == ZZ_FEED_KIND_MID_YEAR ? "年中参保" : "年度参保",
                     0);
                cell_date(fp, r->registered_on, 0);
                cell(fp, r->region, 0);
                cell(fp, r->unit, 0);
                cell(fp, r->action == ZZ_FEED_ENR_CANCEL ? "注销" : "登记", 0);
                cell(fp, r->dept_record_id, 0);
                cell_ts(fp, r->reported_at, 1);
                break;
        }
        case ZZ_FEED_PAYMENT: {
                const zz_feed_payment_t *r = &rec->u.payment;

                cell(fp, r->person_id, 0);
                cell(fp, "", 0);
                cell_int(fp, r->year, 0);
                cell(fp, r->kind == ZZ_FEED_PAY_REFUND ? "退费" : "缴费", 0);
                cell_yuan(fp, r->contribution_fen, 0);
                cell_yuan(fp, r->subsidy_applied_fen, 0);
                cell_yuan(fp, r->paid_fen, 0);
                if (r->kind == ZZ_FEED_PAY_REFUND)
                        cell_yuan(fp, r->refund_fen, 0);
                else
                        cell(fp, "", 0);
                cell_ts(fp, r->paid_at, 0);
                cell(fp, r->receipt, 0);
                cell(fp, r->dept_record_id, 1);
                break;
        }
        default:
                break;
        }
}

static FILE *csv_file(zz_feed_sink_t *s, const zz_feed_record_t *rec,
                      char *errstr, size_t errstr_size)
{
        char name[32];
        char path[4096];
        size_t i;
        FILE *fp;

        if (rec->kind == ZZ_FEED_IDENTITY)
                snprintf(name, sizeof(name), "identity-%s.csv",
                         rec->u.identity.department);
        else
                snprintf(name, sizeof(name), "%s.csv",
                         zz_feed_kind_name(rec->kind));
        for (i = 0; i < s->n_files; i++) {
                if (strcmp(s->files[i].name, name) == 0)
                        return s->files[i].fp;
        }
        if (s->n_files == ZZ_SINK_MAX_FILES) {
                snprintf(errstr, errstr_size, "too many output files");
                return NULL;
        }
        snprintf(path, sizeof(path), "%s/%s", s->dir, name);
        fp = fopen(path, "w");
        if (fp == NULL) {
                snprintf(errstr, errstr_size, "could not create %s: %s", path,
                         strerror(errno));
                return NULL;
        }
        setvbuf(fp, NULL, _IOFBF, 1 << 20);
        zz_feed_csv_header(fp, rec->kind);
        snprintf(s->files[s->n_files].name, sizeof(s->files[0].name), "%s",
                 name);
        s->files[s->n_files++].fp = fp;
        return fp;
}

/* ------------------------------------------------------------------ */

/* The Kafka topic of rec: its kind's, or its department's identity
 * topic. NULL with errstr for a department that has none (it is no
 * certifying department). */
static rd_kafka_topic_t *topic_of(zz_feed_sink_t *s,
                                  const zz_feed_record_t *rec, char *errstr,
                                  size_t errstr_size)
{
        int d;

        if (rec->kind != ZZ_FEED_IDENTITY)
                return s->topics[rec->kind];
        d = zz_vocab_dept_index(rec->u.identity.department);
        if (d < 0) {
                snprintf(errstr, errstr_size,
                         "no identity topic for department \"%.16s\"",
                         rec->u.identity.department);
                return NULL;
        }
        return s->identity[d];
}

int zz_feed_sink_put(zz_feed_sink_t *s, const zz_feed_record_t *rec,
                     char *errstr, size_t errstr_size)
{
        switch (s->type) {
        case SINK_KAFKA: {
                const void *data;
                size_t len;
                const char *key = zz_feed_record_key(rec);
                rd_kafka_topic_t *rkt = topic_of(s, rec, errstr, errstr_size);

                if (rkt == NULL || zz_feed_encode(s->enc, rec, &data, &len,
                                                  errstr, errstr_size) != 0)
                        return -1;
                for (;;) {
                        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA,
                                             RD_KAFKA_MSG_F_COPY, (void *)data,
                                             len, key, strlen(key), NULL) == 0)
                                break;
                        if (rd_kafka_last_error() !=
                            RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                                snprintf(
                                    errstr, errstr_size,
                                    "could not produce: %s",
                                    rd_kafka_err2str(rd_kafka_last_error()));
                                return -1;
                        }
                        rd_kafka_poll(s->rk, 50);
                }
                rd_kafka_poll(s->rk, 0);
                s->bytes += len;
                break;
        }
        case SINK_JSONL: {
                char stack[4096];
                char *buf = stack;
                size_t size = sizeof(stack);

                /* a close command's positions can outgrow the stack */
                if (rec->kind == ZZ_FEED_CONTROL &&
                    rec->u.control.n_positions > 0) {
                        size += rec->u.control.n_positions *
                                (2 * ZZ_FEED_TOPIC_SIZE + 64);
                        buf = malloc(size);
                        if (buf == NULL) {
                                snprintf(errstr, errstr_size, "out of memory");
                                return -1;
                        }
                }
                if (zz_feed_record_to_json(rec, buf, size) != 0) {
                        snprintf(errstr, errstr_size, "record too large");
                        if (buf != stack)
                                free(buf);
                        return -1;
                }
                fputs(buf, s->fp);
                fputc('\n', s->fp);
                s->bytes += strlen(buf) + 1;
                if (buf != stack)
                        free(buf);
                break;
        }
        case SINK_CSV: {
                FILE *fp;

                if (rec->kind == ZZ_FEED_CONTROL) {
                        snprintf(errstr, errstr_size,
                                 "control commands have no CSV template");
                        return -1;
                }
                fp = csv_file(s, rec, errstr, errstr_size);
                if (fp == NULL)
                        return -1;
                zz_feed_csv_row(fp, rec);
                break;
        }
        case SINK_NULL:
                break;
        }
        s->sent++;
        return 0;
}

int zz_feed_sink_flush(zz_feed_sink_t *s, int timeout_ms, char *errstr,
                       size_t errstr_size)
{
        size_t i;

        switch (s->type) {
        case SINK_KAFKA: {
                rd_kafka_resp_err_t err = rd_kafka_flush(s->rk, timeout_ms);

                if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        snprintf(errstr, errstr_size,
                                 "%d messages not delivered after %d ms: %s",
                                 rd_kafka_outq_len(s->rk), timeout_ms,
                                 rd_kafka_err2str(err));
                        return -1;
                }
                if (s->failed > 0) {
                        snprintf(errstr, errstr_size,
                                 "%llu messages failed: %s",
                                 (unsigned long long)s->failed, s->last_error);
                        return -1;
                }
                return 0;
        }
        case SINK_JSONL:
                if (fflush(s->fp) != 0) {
                        snprintf(errstr, errstr_size, "could not write: %s",
                                 strerror(errno));
                        return -1;
                }
                return 0;
        case SINK_CSV:
                for (i = 0; i < s->n_files; i++) {
                        if (fflush(s->files[i].fp) != 0) {
                                snprintf(errstr, errstr_size,
                                         "could not write %s: %s",
                                         s->files[i].name, strerror(errno));
                                return -1;
                        }
                }
                return 0;
        default:
                return 0;
        }
}

uint64_t zz_feed_sink_sent(const zz_feed_sink_t *s)
{
        return s->sent;
}

uint64_t zz_feed_sink_failed(const zz_feed_sink_t *s)
{
        return s->failed;
}

uint64_t zz_feed_sink_bytes(const zz_feed_sink_t *s)
{
        return s->bytes;
}

void zz_feed_sink_destroy(zz_feed_sink_t *s)
{
        size_t i;

        if (s == NULL)
                return;
        for (i = 0; i < 4; i++) {
                if (s->topics[i] != NULL)
                        rd_kafka_topic_destroy(s->topics[i]);
        }
        for (i = 0; i < ZZ_VOCAB_DEPTS; i++) {
                if (s->identity[i] != NULL)
                        rd_kafka_topic_destroy(s->identity[i]);
        }
        if (s->rk != NULL)
                rd_kafka_destroy(s->rk);
        for (i = 0; i < s->n_files; i++)
                fclose(s->files[i].fp);
        zz_feed_encoder_destroy(s->enc);
        free(s->dir);
        free(s);
}
