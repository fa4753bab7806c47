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

#endif
