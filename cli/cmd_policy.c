/* cmd_policy.c — placeholder until the policy engine lands (issue 3). */
#include <stdio.h>

#include "zz_cli.h"

int zz_cmd_policy(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "zizhu policy: not built yet\n");
        return 1;
}
