/*
 * cmd_schemas.c — `zizhu schemas catalog|publish`: the schema catalog
 * (catalog.h) as a file for a release, or onto the compacted catalog topic
 * of the configured cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/catalog.h"
#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
#include "zz_cli.h"

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu schemas catalog [--out FILE]\n"
                "       zizhu schemas publish [--config FILE] [-X "
                "key=value]\n\n"
                "catalog  writes every schema of schemas/ (all streams, all "
                "versions) as one JSON\n"
                "         object keyed by fingerprint: the CRC-64-AVRO of the "
                "schema's canonical\n"
                "         form as 16 hex digits in wire order (the 8 bytes "
                "after C3 01).\n"
                "         Each member: stream, version, current, file, "
                "schema.\n"
                "publish  writes the same schemas to the compacted topic "
                "<prefix>schema-catalog\n"
                "         (key: the fingerprint, value: the schema's JSON); "
                "every producing\n"
                "         program does this at start-up by itself.\n\n"
                "example: zizhu schemas catalog --out schemas/catalog.json\n\n"
                "exit status: 0 written, 1 could not write or the broker "
                "refused, 2 usage\n");
}

int zz_cmd_schemas(int argc, char **argv)
{
        const char *outpath = NULL;
        const zz_opt_t table[] = {ZZ_OPT_STRING("out", &outpath), ZZ_OPT_END};
        char errstr[1024] = "";
        zz_opts_t zo;
        zz_codec_t *codec;
        int rc = ZZ_EXIT_OK;

        zz_opts_init(&zo, "zizhu schemas", usage, ZZ_OPTS_CONFIG);
        zo.max_args = 1;
        if (zz_opts_parse(&zo, table, argc, argv) != 0)
                return zo.exit_status;
        zz_log_set_component("schemas");
        if (zo.n_args != 1 || (strcmp(zo.args[0], "catalog") != 0 &&
                               strcmp(zo.args[0], "publish") != 0)) {
                usage(stderr);
                return ZZ_EXIT_USAGE;
        }
        codec = zz_codec_new(errstr, sizeof(errstr));
        if (codec == NULL) {
                fprintf(stderr, "zizhu schemas: %s\n", errstr);
                return ZZ_EXIT_FAIL;
        }
        if (strcmp(zo.args[0], "publish") == 0) {
                zz_config_t *config = zz_opts_config(&zo);

                if (config == NULL) {
                        zz_codec_destroy(codec);
                        return ZZ_EXIT_USAGE;
                }
                if (zz_catalog_publish(config, codec, errstr, sizeof(errstr)) !=
                    0) {
                        fprintf(stderr, "zizhu schemas: %s\n", errstr);
                        rc = ZZ_EXIT_FAIL;
                } else {
                        printf("%zu schemas in %sschema-catalog\n",
                               zz_codec_schema_count(codec),
                               zz_config_topic_prefix(config));
                }
                zz_config_destroy(config);
        } else {
                char *json = zz_catalog_json(codec);
                FILE *out = stdout;

                if (json == NULL) {
                        fprintf(stderr, "zizhu schemas: out of memory\n");
                        rc = ZZ_EXIT_FAIL;
                } else if (outpath != NULL &&
                           (out = fopen(outpath, "w")) == NULL) {
                        fprintf(stderr, "zizhu schemas: could not write %s\n",
                                outpath);
                        rc = ZZ_EXIT_FAIL;
                } else {
                        if (fputs(json, out) == EOF)
                                rc = ZZ_EXIT_FAIL;
                        if (out != stdout && fclose(out) != 0)
                                rc = ZZ_EXIT_FAIL;
                        if (rc != ZZ_EXIT_OK)
                                fprintf(stderr,
                                        "zizhu schemas: could not write %s\n",
                                        outpath ? outpath : "stdout");
                }
                free(json);
        }
        zz_codec_destroy(codec);
        return rc;
}
