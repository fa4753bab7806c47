/*
 * cmd_demo.c — `zizhu demo`: the pipeline on the demo data set, through
 * deploy/demo/run.sh (which builds nothing and expects the stack up).
 */
#include <stdio.h>
#include <unistd.h>

#include "zizhu/opts.h"
#include "zz_cli.h"

static void usage(FILE *out)
{
        fprintf(out, "usage: zizhu demo\n\nFeeds the demo data set in "
                     "deploy/demo/ through what exists of the\npipeline "
                     "and prints the settlement per paying department.\n"
                     "The stack must be up ('zizhu stack up'); the "
                     "README's main-job command\ndoes all of it.\n");
}

int zz_cmd_demo(int argc, char **argv)
{
        char script[4096];
        zz_opts_t zo;

        zz_opts_init(&zo, "zizhu demo", usage, 0);
        if (zz_opts_parse(&zo, NULL, argc, argv) != 0)
                return zo.exit_status;
        snprintf(script, sizeof(script), "%s/deploy/demo/run.sh",
                 zz_opts_source_dir());
        fflush(stdout);
        execv("/bin/bash", (char *[]){"bash", script, NULL});
        perror("zizhu demo: could not run deploy/demo/run.sh");
        return ZZ_EXIT_FAIL;
}
