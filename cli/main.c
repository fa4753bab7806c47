/*
 * main.c — `zizhu`, the admin command: dispatches to a subcommand, the way
 * git dispatches to builtin/<command>.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zz_cli.h"

struct zz_cli_cmd {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
};

static const struct zz_cli_cmd zz_cli_cmds[] = {
    {"stack", zz_cmd_stack, "start, stop or show the local Kafka + PostgreSQL"},
    {"migrate", zz_cmd_migrate, "apply the SQL migrations in sql/"},
    {"policy", zz_cmd_policy, "check, evaluate and explain policy files"},
    {"demo", zz_cmd_demo, "run the pipeline on the demo data set"},
    {"replay", zz_cmd_replay,
     "rebuild from the input topics into a fresh database"},
    {"audit", zz_cmd_audit,
     "verify replayed allocations and money conservation"},
    {"explain", zz_cmd_explain,
     "a person's decision at a past moment, with its trace"},
    {"report", zz_cmd_report, "settlement, backlog and progress reports"},
};

#define ZZ_CLI_NCMDS (sizeof(zz_cli_cmds) / sizeof(zz_cli_cmds[0]))

const char *zz_cli_source_dir(void)
{
        const char *dir = getenv("ZZ_SOURCE_DIR");

        if (dir != NULL && dir[0] != '\0')
                return dir;
        return ZZ_SOURCE_DIR;
}

static void usage(FILE *out)
{
        size_t i;

        fprintf(out, "usage: zizhu <command> [options]\n\n"
                     "zizhu keeps every insured person's contribution "
                     "subsidy (资助参保) current and\n"
                     "settles it per paying department.\n\ncommands:\n");
        for (i = 0; i < ZZ_CLI_NCMDS; i++)
                fprintf(out, "  %-10s %s\n", zz_cli_cmds[i].name,
                        zz_cli_cmds[i].summary);
        fprintf(out, "\n'zizhu <command> --help' describes one command.\n"
                     "exit status: 0 success, 1 failure, 2 usage or "
                     "invalid input file\n");
}

int main(int argc, char **argv)
{
        size_t i;

        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
            strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return 0;
        }
        for (i = 0; i < ZZ_CLI_NCMDS; i++) {
                if (strcmp(argv[1], zz_cli_cmds[i].name) == 0)
                        return zz_cli_cmds[i].run(argc - 1, argv + 1);
        }
        fprintf(stderr, "zizhu: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        return 2;
}
