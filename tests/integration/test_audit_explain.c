/*
 * test_audit_explain.c — `zizhu explain --person ID --year Y --as-of T`:
 * before the flag reached the platform the person was not subsidized;
 * now a refund is due, with the rule, the clause and the facts; the output
 * shows the masked number only, and the settlement lines of the person.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/idno.h"

#include "zz_test.h"

static char *run(const char *args)
{
        char cmd[2048], *buf = malloc(1 << 20);
        size_t n = 0, r;
        FILE *p;

        snprintf(cmd, sizeof(cmd), "%s/cli/zizhu explain %s 2>&1", ZZ_BIN_DIR,
                 args);
        p = popen(cmd, "r");
        cr_assert(p != NULL);
        while ((r = fread(buf + n, 1, (1 << 20) - 1 - n, p)) > 0)
                n += r;
        buf[n] = '\0';
        pclose(p);
        return buf;
}

Test(audit_explain, as_of_before_and_after_the_flag, .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        char a[19], masked[19], args[256];
        char *before, *now, *text_before, *text_now;

        cr_assert(zz_test_env_new(&env, "ex") == 0);
        zz_test_idno("500228", "19900101", 61, a);
        zz_idno_mask(a, 18, masked);
        /* paid in full on 10-15; the dibao flag was reported on 11-02 */
        zz_test_enrollment(&ms, a, 2020, 1, "ANNUAL", "2019-10-15",
                           "500155107001");
        zz_test_payment(&ms, a, 2020, 25000, 0, 0, "2019-10-15T10:00:00+08:00");
        zz_test_identity(&ms, a, "MCA", "MCA-A", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-11-02T08:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);

        snprintf(args, sizeof(args),
                 "--person %s --year 2020 --as-of "
                 "2019-10-20 --json",
                 a);
        before = run(args);
        snprintf(args, sizeof(args), "--person %s --year 2020 --json", a);
        now = run(args);
        /* the default: the same decision explained for a person to read */
        snprintf(args, sizeof(args),
                 "--person %s --year 2020 --as-of 2019-10-20", a);
        text_before = run(args);
        snprintf(args, sizeof(args), "--person %s --year 2020", a);
        text_now = run(args);
        cr_expect(strstr(text_before, "资助 subsidy 0.00 元") != NULL);
        cr_expect(strstr(text_now, "应退费 REFUND_DUE 250.00 元, 经税务退费 "
                                   "VIA_TAX") != NULL);
        cr_expect(strstr(text_now, "规则 HL-MA-BASIC 匹配") != NULL);
        cr_expect(strstr(text_before, a) == NULL &&
                  strstr(text_now, a) == NULL);
        free(text_before);
        free(text_now);
        fprintf(stderr, "%s\n----\n%s\n", before, now);
        cr_expect(strstr(before, masked) != NULL);
        cr_expect(strstr(before, "\"subsidy_fen\": 0") != NULL);
        cr_expect(strstr(now, "\"status\": \"REFUND_DUE\"") != NULL);
        cr_expect(strstr(now, "HL-MA-BASIC") != NULL);
        cr_expect(strstr(now, "回龙府发") != NULL);
        cr_expect(strstr(now, "MCA.DIBAO") != NULL);
        cr_expect(strstr(now, "REFUND_VIA_TAX") != NULL, "settled lines");
        cr_expect(strstr(before, a) == NULL && strstr(now, a) == NULL,
                  "the ID number is never printed");
        free(before);
        free(now);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}
