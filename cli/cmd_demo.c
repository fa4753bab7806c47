/*
 * cmd_demo.c — `zizhu demo`: the pipeline on the demo data set, through
 * deploy/demo/run.sh (which builds nothing and expects the stack up).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zz_cli.h"

int zz_cmd_demo(int argc, char **argv)
{
        char script[4096];

        if (argc > 1 &&
            (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("usage: zizhu demo\n\nFeeds the demo data set in "
                       "deploy/demo/ through what exists of the\npipeline "
                       "and prints the settlement per paying department.\n"
                       "The stack must be up ('zizhu stack up'); the "
                       "README's main-job command\ndoes all of it.\n");
                return 0;
        }
        snprintf(script, sizeof(script), "%s/deploy/demo/run.sh",
                 zz_cli_source_dir());
        fflush(stdout);
        execv("/bin/bash", (char *[]){"bash", script, NULL});
        perror("zizhu demo: could not run deploy/demo/run.sh");
        return 1;
}
