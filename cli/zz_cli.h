/*
 * zz_cli.h — subcommands of the admin command `zizhu`.
 *
 * Each subcommand lives in its own cli/cmd_<name>.c and is called with
 * argv[0] = the subcommand name. It parses its options with opts.h and
 * returns the process exit status (ZZ_EXIT_*).
 */
#ifndef ZIZHU_CLI_H
#define ZIZHU_CLI_H

int zz_cmd_stack(int argc, char **argv);
int zz_cmd_migrate(int argc, char **argv);
int zz_cmd_policy(int argc, char **argv);
int zz_cmd_demo(int argc, char **argv);
int zz_cmd_replay(int argc, char **argv);
int zz_cmd_audit(int argc, char **argv);
int zz_cmd_explain(int argc, char **argv);
int zz_cmd_report(int argc, char **argv);
int zz_cmd_topics(int argc, char **argv);
int zz_cmd_schemas(int argc, char **argv);

/* A moment given as a time (2019-11-30T18:00:00+08:00) or a date (the end
 * of that day, China time), in ms since the epoch: 0, or -1 when s is
 * neither (cmd_explain.c; explain and policy diff take --as-of so). */
int zz_cli_parse_as_of(const char *s, long long *out);

#endif
