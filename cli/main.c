/*
 * main.c — `zizhu`, the admin command: dispatches to a subcommand, the way
 * git dispatches to builtin/<command>.c.
 */
#include <stdio.h>
#include <string.h>

#include "zizhu/opts.h"
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
    {"topics", zz_cmd_topics, "apply the topic plan to a Kafka cluster"},
    {"schemas", zz_cmd_schemas,
     "the schema catalog, as a file or on its topic"},
};

#define ZZ_CLI_NCMDS (sizeof(zz_cli_cmds) / sizeof(zz_cli_cmds[0]))

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
        zz_opts_t zo;
        const char *cmd;
        size_t i;

        /* Options before the command are zizhu's (only --help); the rest
         * of the command line is the command's. */
        zz_opts_init(&zo, "zizhu", usage, ZZ_OPTS_IN_ORDER);
        zo.max_args = -1;
        if (zz_opts_parse(&zo, NULL, argc, argv) != 0)
                return zo.exit_status;
        if (zo.n_args == 0) {
                usage(stderr);
                return ZZ_EXIT_USAGE;
        }
        cmd = zo.args[0];
        if (strcmp(cmd, "help") == 0) {
                usage(stdout);
                return ZZ_EXIT_OK;
        }
        for (i = 0; i < ZZ_CLI_NCMDS; i++) {
                if (strcmp(cmd, zz_cli_cmds[i].name) == 0)
                        return zz_cli_cmds[i].run(zo.n_args, zo.args);
        }
        fprintf(stderr, "zizhu: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return ZZ_EXIT_USAGE;
}
