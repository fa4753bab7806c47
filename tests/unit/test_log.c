/*
 * test_log.c — logs never carry an ID number; the arena and config basics.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "zizhu/arena.h"
#include "zizhu/config.h"
#include "zizhu/log.h"

Test(log, scrub_masks_id_numbers)
{
        char buf[256] = "person 50022819900101123X and 11010519491231002x "
                        "offset 42 tel 13800138000";

        cr_assert_eq(zz_log_scrub(buf), 2);
        cr_assert_str_eq(buf, "person 5002**********123X and "
                              "1101**********002X offset 42 tel 13800138000");
}

Test(log, scrub_masks_fifteen_digit_numbers)
{
        char buf[64] = "old=110105491231002;";

        cr_assert_eq(zz_log_scrub(buf), 1);
        cr_assert_str_eq(buf, "old=1101*******1002;");
}

Test(log, line_never_contains_the_number, .init = cr_redirect_stderr)
{
        zz_log_set_component("test");
        zz_log_info("could not decode event for %s", "500228199001011235");
        fflush(stderr);
        cr_assert_stderr_neq_str("");
}

Test(log, line_is_logfmt_and_masked, .init = cr_redirect_stderr)
{
        char line[512] = "";
        FILE *err = cr_get_redirected_stderr();

        zz_log_set_component("test");
        zz_log_warn("id \"500228199001011235\" rejected");
        fflush(stderr);
        cr_assert_not_null(fgets(line, sizeof(line), err));
        cr_assert_null(strstr(line, "500228199001011235"));
        cr_assert_not_null(strstr(line, "5002**********1235"));
        cr_assert_not_null(strstr(line, "level=warn comp=test"));
}

Test(arena, alloc_reset_reuse)
{
        zz_arena_t *arena = zz_arena_new(128);
        char *big;
        char *s;

        cr_assert_not_null(arena);
        s = zz_arena_strdup(arena, "hello");
        cr_assert_str_eq(s, "hello");
        cr_assert_eq((uintptr_t)s % _Alignof(max_align_t), 0);
        big = zz_arena_alloc(arena, 10000); /* larger than a block */
        cr_assert_not_null(big);
        memset(big, 1, 10000);
        for (int i = 0; i < 1000; i++)
                cr_assert_not_null(zz_arena_calloc(arena, 3, 7));
        cr_assert_geq(zz_arena_used(arena), 10000);
        zz_arena_reset(arena);
        cr_assert_eq(zz_arena_used(arena), 0);
        cr_assert_not_null(zz_arena_alloc(arena, 64));
        zz_arena_destroy(arena);
        zz_arena_destroy(NULL);
}

Test(config, defaults_env_file_and_passthrough)
{
        char path[] = "/tmp/zz-config-XXXXXX";
        char errstr[256];
        char topic[64];
        const char *k;
        const char *v;
        zz_config_t *config;
        int fd = mkstemp(path);
        FILE *fp = fdopen(fd, "w");

        fprintf(fp, "# comment\nbootstrap = 10.0.0.1:9092\n"
                    "kafka.linger.ms = 5\ntopic_prefix=test.\n");
        fclose(fp);
        unsetenv("ZIZHU_BOOTSTRAP");
        setenv("ZIZHU_PG", "dbname=other", 1);
        config = zz_config_load(path, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        cr_assert_str_eq(zz_config_bootstrap(config), "10.0.0.1:9092");
        cr_assert_str_eq(zz_config_pg(config), "dbname=other");
        cr_assert_str_eq(
            zz_config_topic(config, "identity", topic, sizeof(topic)),
            "test.identity");
        cr_assert_eq(
            zz_config_set(config, "linger.ms=50", errstr, sizeof(errstr)), 0);
        cr_assert_eq(zz_config_set(config, "acks=all", errstr, sizeof(errstr)),
                     0);
        cr_assert_eq(zz_config_kafka_count(config), 2);
        zz_config_kafka_get(config, 0, &k, &v);
        cr_assert_str_eq(k, "linger.ms");
        cr_assert_str_eq(v, "50");
        cr_assert_eq(zz_config_set(config, "novalue", errstr, sizeof(errstr)),
                     -1);
        zz_config_destroy(config);
        unsetenv("ZIZHU_PG");
        unlink(path);
}

Test(config, bad_file_names_the_line)
{
        char path[] = "/tmp/zz-config-XXXXXX";
        char errstr[256];
        int fd = mkstemp(path);
        FILE *fp = fdopen(fd, "w");

        fprintf(fp, "bootstrap = x\nfrobnicate = 1\n");
        fclose(fp);
        cr_assert_null(zz_config_load(path, errstr, sizeof(errstr)));
        cr_assert_not_null(strstr(errstr, ":2: unknown setting"), "%s", errstr);
        unlink(path);
}
