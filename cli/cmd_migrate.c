/*
 * cmd_migrate.c — `zizhu migrate`: apply the numbered SQL migrations.
 */
#include <stdio.h>

#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
#include "zizhu/pg.h"
#include "zz_cli.h"

static void usage(FILE *out)
{
        fprintf(out, "usage: zizhu migrate [--config FILE] [-X key=value] "
                     "[--dir DIR]\n\n"
                     "Applies every sql/NNN_name.sql not yet applied to the "
                     "database named by\nZIZHU_PG (or pg = ... in the config "
                     "file), each in its own transaction.\nRunning it again "
                     "applies nothing.\n\nexample: ZIZHU_PG='host=127.0.0.1 "
                     "port=15432 dbname=zizhu user=zizhu' zizhu migrate\n");
}

int zz_cmd_migrate(int argc, char **argv)
{
        char sql_dir[4096];
        const char *dir = sql_dir;
        char errstr[1024] = "";
        const zz_opt_t table[] = {ZZ_OPT_STRING("dir", &dir), ZZ_OPT_END};
        zz_opts_t zo;
        zz_config_t *config;
        PGconn *conn;
        int applied = 0;

        snprintf(sql_dir, sizeof(sql_dir), "%s/sql", zz_opts_source_dir());
        zz_opts_init(&zo, "zizhu migrate", usage, ZZ_OPTS_CONFIG);
        if (zz_opts_parse(&zo, table, argc, argv) != 0)
                return zo.exit_status;
        zz_log_set_component("migrate");
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        conn = zz_pg_connect(zz_config_pg(config), "zizhu-migrate", errstr,
                             sizeof(errstr));
        zz_config_destroy(config);
        if (conn == NULL) {
                fprintf(stderr, "zizhu migrate: %s", errstr);
                fprintf(stderr, "hint: is the stack up? try 'zizhu stack "
                                "up'\n");
                return ZZ_EXIT_FAIL;
        }
        if (zz_pg_migrate(conn, dir, &applied, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "zizhu migrate: %s\n", errstr);
                zz_pg_finish(conn);
                return ZZ_EXIT_FAIL;
        }
        zz_pg_finish(conn);
        printf("migrations applied: %d\n", applied);
        return ZZ_EXIT_OK;
}
