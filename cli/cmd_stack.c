/*
 * cmd_stack.c — `zizhu stack up|down|status|env`: the local Kafka and
 * PostgreSQL, through the scripts in deploy/local/.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/opts.h"
#include "zz_cli.h"

static void usage(FILE *out)
{
        fprintf(out, "usage: zizhu stack up|down|status|env\n\n"
                     "Starts, stops or shows the local stack: one Apache Kafka "
                     "node (KRaft) on\n127.0.0.1:19092 and PostgreSQL 15 on "
                     "127.0.0.1:15432, both kept under .zz/\nin the source "
                     "folder.\n\n"
                     "  up      start both (twice is harmless) and create the "
                     "topics\n"
                     "  down    stop both; no process is left behind\n"
                     "  status  what runs where\n"
                     "  env     the ZIZHU_BOOTSTRAP and ZIZHU_PG settings to "
                     "export\n\n"
                     "example: eval \"$(zizhu stack env)\"\n");
}

int zz_cmd_stack(int argc, char **argv)
{
        char script[4096];
        const char *verb;
        zz_opts_t zo;

        zz_opts_init(&zo, "zizhu stack", usage, 0);
        zo.max_args = -1;
        if (zz_opts_parse(&zo, NULL, argc, argv) != 0)
                return zo.exit_status;
        if (zo.n_args != 1) {
                usage(stderr);
                return ZZ_EXIT_USAGE;
        }
        verb = zo.args[0];
        if (strcmp(verb, "up") != 0 && strcmp(verb, "down") != 0 &&
            strcmp(verb, "status") != 0 && strcmp(verb, "env") != 0) {
                fprintf(stderr, "zizhu stack: unknown action \"%s\"\n", verb);
                usage(stderr);
                return ZZ_EXIT_USAGE;
        }
        snprintf(script, sizeof(script), "%s/deploy/local/stack.sh",
                 zz_opts_source_dir());
        fflush(stdout);
        execl("/bin/bash", "bash", script, verb, (char *)NULL);
        perror("zizhu stack: could not run deploy/local/stack.sh");
        return ZZ_EXIT_FAIL;
}
