/*
 * cmd_migrate.c — `zizhu migrate`: apply the numbered SQL migrations.
 */
#include <stdio.h>
#include <string.h>

#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"
#include "zz_cli.h"

static void usage(FILE *out)
{
        fprintf(out, "usage: zizhu migrate [--config FILE] [--dir DIR]\n\n"
                     "Applies every sql/NNN_name.sql not yet applied to the "
                     "database named by\nZIZHU_PG (or pg = ... in the config "
                     "file), each in its own transaction.\nRunning it again "
                     "applies nothing.\n\nexample: ZIZHU_PG='host=127.0.0.1 "
                     "port=15432 dbname=zizhu user=zizhu' zizhu migrate\n");
}

int zz_cmd_migrate(int argc, char **argv)
{
        const char *config_path = NULL;
        char dir[4096];
        char errstr[1024] = "";
        zz_config_t *config;
        PGconn *conn;
        int applied = 0;
        int i;

        snprintf(dir, sizeof(dir), "%s/sql", zz_cli_source_dir());
        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 ||
                    strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                        config_path = argv[++i];
                } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
                        snprintf(dir, sizeof(dir), "%s", argv[++i]);
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        zz_log_set_component("migrate");
        config = zz_config_load(config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "zizhu migrate: %s\n", errstr);
                return 2;
        }
        conn = zz_pg_connect(zz_config_pg(config), "zizhu-migrate", errstr,
                             sizeof(errstr));
        zz_config_destroy(config);
        if (conn == NULL) {
                fprintf(stderr, "zizhu migrate: %s", errstr);
                fprintf(stderr, "hint: is the stack up? try 'zizhu stack "
                                "up'\n");
                return 1;
        }
        if (zz_pg_migrate(conn, dir, &applied, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "zizhu migrate: %s\n", errstr);
                PQfinish(conn);
                return 1;
        }
        PQfinish(conn);
        printf("migrations applied: %d\n", applied);
        return 0;
}
