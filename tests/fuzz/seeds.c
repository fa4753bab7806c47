/*
 * seeds.c — writes the seeds that cannot be copied from the test data:
 * messages of every stream for fuzz_codec, and the cases of
 * tests/data/policy/ without their expectations for fuzz_case_json.
 *
 *   zz-fuzz-seeds codec DIR DICT
 *   zz-fuzz-seeds cases DIR FILE.jsonl...
 *
 * The input streams come from the load generator (a few persons of every
 * jurisdiction, through the feed's encoder, as zizhu-feed sends them);
 * the output streams (subsidy state, reconciliation, allocation, dead
 * letter) are their schemas' empty values. One file per message,
 * <stream>-<n>.bin; a few hundred files in all. DICT receives the
 * dictionary: the header of every schema.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "fuzz_common.h"
#include "zizhu/codec.h"
#include "zizhu/feed.h"
#include "zizhu/loadgen.h"

#define PER_STREAM 40

typedef struct seeds_s {
        const char *dir;
        zz_feed_encoder_t *enc;
        size_t n[ZZ_STREAM__COUNT];
} seeds_t;

static int write_seed(seeds_t *s, zz_stream_t stream, const void *data,
                      size_t len)
{
        char path[4096];
        FILE *fp;

        snprintf(path, sizeof path, "%s/%s-%zu.bin", s->dir,
                 zz_stream_name(stream), s->n[stream]++);
        fp = fopen(path, "wb");
        if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
                fprintf(stderr, "zz-fuzz-seeds: could not write %s\n", path);
                return -1;
        }
        return 0;
}

static int on_record(const zz_feed_record_t *rec, void *opaque)
{
        static const zz_stream_t stream_of[] = {
            ZZ_STREAM_IDENTITY, ZZ_STREAM_ENROLLMENT, ZZ_STREAM_PAYMENT,
            ZZ_STREAM_CONTROL};
        seeds_t *s = opaque;
        zz_stream_t stream = stream_of[rec->kind];
        const void *data;
        size_t len;
        char err[512];

        if (s->n[stream] >= PER_STREAM)
                return 0;
        if (zz_feed_encode(s->enc, rec, &data, &len, err, sizeof err) != 0) {
                fprintf(stderr, "zz-fuzz-seeds: %s\n", err);
                return 1;
        }
        return write_seed(s, stream, data, len) != 0;
}

/* Selects branch of every union in value (records and unions within
 * unions included), so that an empty value encodes. */
static int fill_unions(avro_value_t *value, int branch)
{
        avro_value_t child;
        size_t n;

        switch (avro_value_get_type(value)) {
        case AVRO_RECORD:
                if (avro_value_get_size(value, &n) != 0)
                        return -1;
                for (size_t i = 0; i < n; i++)
                        if (avro_value_get_by_index(value, i, &child, NULL) !=
                                0 ||
                            fill_unions(&child, branch) != 0)
                                return -1;
                return 0;
        case AVRO_UNION: {
                avro_schema_t schema = avro_value_get_schema(value);
                int b = (size_t)branch < avro_schema_union_size(schema) ? branch
                                                                        : 0;

                if (avro_value_set_branch(value, b, &child) != 0)
                        return -1;
                return fill_unions(&child, branch);
        }
        default:
                return 0;
        }
}

/* A control command of each kind, as a clerk's NHSA file gives them. */
static int control_records(seeds_t *s)
{
        static const zz_feed_position_t positions[] = {
            {"zizhu.enrollment", 0, 1200}, {"zizhu.payment", 1, 88}};
        zz_feed_record_t rec;

        for (int cmd = ZZ_FEED_CMD_CLOSE_PERIOD;
             cmd <= ZZ_FEED_CMD_ACTIVATE_POLICY; cmd++) {
                zz_feed_control_t *c = &rec.u.control;

                memset(&rec, 0, sizeof rec);
                rec.kind = ZZ_FEED_CONTROL;
                snprintf(c->department, sizeof c->department, "NHSA");
                snprintf(c->dept_record_id, sizeof c->dept_record_id, "CTL-%d",
                         cmd);
                c->command = cmd;
                snprintf(c->jurisdiction, sizeof c->jurisdiction, "500155");
                c->issued_at = (zz_ts_t)1577808000 * 1000;
                if (cmd == ZZ_FEED_CMD_CLOSE_PERIOD) {
                        snprintf(c->period, sizeof c->period, "2020");
                        c->positions = positions;
                        c->n_positions = 2;
                } else {
                        snprintf(c->policy_name, sizeof c->policy_name,
                                 "huilong-2020");
                        snprintf(c->policy_version, sizeof c->policy_version,
                                 "1");
                }
                zz_feed_event_id(&rec);
                if (on_record(&rec, s) != 0)
                        return -1;
        }
        return 0;
}

static int empty_values(seeds_t *s)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        zz_codec_t *codec;
        char err[512];
        int rc = 0;

        codec = zz_codec_new(err, sizeof err);
        if (codec == NULL) {
                fprintf(stderr, "zz-fuzz-seeds: %s\n", err);
                return -1;
        }
        for (int i = ZZ_STREAM_SUBSIDY_STATE; i < ZZ_STREAM__COUNT && rc == 0;
             i++) {
                avro_value_t value;

                if (zz_codec_value_new(codec, (zz_stream_t)i, &value) != 0) {
                        rc = -1;
                        break;
                }
                /* null in every optional field, then the other branch; a
                 * value the codec will not encode is left out (the
                 * dictionary's headers lead the fuzzer to its stream) */
                for (int branch = 0; branch < 2 && rc == 0; branch++) {
                        if (fill_unions(&value, branch) != 0 ||
                            zz_codec_encode(codec, (zz_stream_t)i, &value, &buf,
                                            err, sizeof err) != 0)
                                continue;
                        rc = write_seed(s, (zz_stream_t)i, buf.data, buf.len);
                }
                avro_value_decref(&value);
        }
        zz_codec_buf_free(&buf);
        zz_codec_destroy(codec);
        return rc;
}

/* The dictionary of fuzz_codec: the magic and the 10-byte header of every
 * schema (libFuzzer's format, bytes as \xNN). */
static int write_dict(const char *path)
{
        zz_codec_t *codec;
        char err[512];
        FILE *fp;

        codec = zz_codec_new(err, sizeof err);
        fp = codec != NULL ? fopen(path, "w") : NULL;
        if (fp == NULL) {
                fprintf(stderr, "zz-fuzz-seeds: could not write %s\n", path);
                zz_codec_destroy(codec);
                return -1;
        }
        fprintf(fp, "# generated by zz-fuzz-seeds\nmagic=\"\\x%02X\\x%02X\"\n",
                ZZ_CODEC_MAGIC_0, ZZ_CODEC_MAGIC_1);
        for (size_t i = 0; i < zz_codec_schema_count(codec); i++) {
                zz_codec_schema_info_t info;

                if (zz_codec_schema_info(codec, i, &info) != 0)
                        continue;
                fprintf(fp, "# %s\nheader_%zu=\"\\x%02X\\x%02X", info.file, i,
                        ZZ_CODEC_MAGIC_0, ZZ_CODEC_MAGIC_1);
                /* the fingerprint, little-endian (single-object encoding) */
                for (int b = 0; b < 8; b++)
                        fprintf(
                            fp, "\\x%02X",
                            (unsigned)((info.fingerprint >> (8 * b)) & 0xFF));
                fprintf(fp, "\"\n");
        }
        zz_codec_destroy(codec);
        return fclose(fp) == 0 ? 0 : -1;
}

/* One file per line of each FILE: DIR/case-<n>.json. */
static int cases(const char *dir, char **files, int n_files)
{
        char text[16384], path[4096], *line = NULL;
        size_t line_cap = 0, n = 0;
        ssize_t len;
        int rc = 0;

        for (int i = 0; i < n_files && rc == 0; i++) {
                FILE *fp = fopen(files[i], "r");

                if (fp == NULL) {
                        fprintf(stderr, "zz-fuzz-seeds: could not open %s\n",
                                files[i]);
                        rc = -1;
                        break;
                }
                while (rc == 0 && (len = getline(&line, &line_cap, fp)) > 0) {
                        FILE *out;

                        if (zz_fuzz_case_text(line, (size_t)len, text,
                                              sizeof text) != 0)
                                continue;
                        snprintf(path, sizeof path, "%s/case-%zu.json", dir,
                                 n++);
                        out = fopen(path, "w");
                        if (out == NULL || fputs(text, out) < 0 ||
                            fclose(out) != 0) {
                                fprintf(stderr,
                                        "zz-fuzz-seeds: could not write %s\n",
                                        path);
                                rc = -1;
                        }
                }
                fclose(fp);
        }
        free(line);
        return rc;
}

static int codec_seeds(int argc, char **argv)
{
        char err[512], policy_dir[4096];
        zz_loadgen_options_t o = {0};
        seeds_t s = {0};
        zz_loadgen_t *lg;
        const char *src = getenv("ZZ_SOURCE_DIR");
        int rc;

        if (write_dict(argv[1]) != 0)
                return 1;
        s.dir = argv[0];
        snprintf(policy_dir, sizeof policy_dir, "%s/policies",
                 src != NULL && *src != '\0' ? src : ZZ_SOURCE_DIR);
        o.seed = 14;
        o.jurisdiction = "province";
        o.persons = 300;
        o.policy_dir = policy_dir;
        o.no_expected = 1;
        s.enc = zz_feed_encoder_new(err, sizeof err);
        lg = s.enc != NULL ? zz_loadgen_new(&o, err, sizeof err) : NULL;
        if (lg == NULL) {
                fprintf(stderr, "zz-fuzz-seeds: %s\n", err);
                zz_feed_encoder_destroy(s.enc);
                return 1;
        }
        rc = zz_loadgen_run(lg, on_record, &s, err, sizeof err);
        if (rc == 0)
                rc = control_records(&s);
        if (rc == 0)
                rc = empty_values(&s);
        else
                fprintf(stderr, "zz-fuzz-seeds: %s\n", err);
        zz_loadgen_destroy(lg);
        zz_feed_encoder_destroy(s.enc);
        return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "codec") == 0)
                return codec_seeds(argc - 2, argv + 2);
        if (argc >= 4 && strcmp(argv[1], "cases") == 0)
                return cases(argv[2], argv + 3, argc - 3) == 0 ? 0 : 1;
        fprintf(stderr, "usage: zz-fuzz-seeds codec DIR DICT\n"
                        "       zz-fuzz-seeds cases DIR FILE.jsonl...\n");
        return 2;
}
