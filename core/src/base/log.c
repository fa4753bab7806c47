/*
 * log.c — logfmt lines on stderr, scrubbed of anything that looks like an
 * ID number before they are written.
 */
#include "zizhu/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "zizhu/idno.h"

static zz_log_level_t zz_log_level = ZZ_LOG_INFO;
static const char *zz_log_component = "zizhu";

void zz_log_set_level(zz_log_level_t level)
{
        zz_log_level = level;
}

zz_log_level_t zz_log_get_level(void)
{
        return zz_log_level;
}

void zz_log_set_component(const char *component)
{
        zz_log_component = component != NULL ? component : "zizhu";
}

static int is_digit(char c)
{
        return c >= '0' && c <= '9';
}

size_t zz_log_scrub(char *buf)
{
        size_t masked = 0;
        char *p = buf;

        while (*p != '\0') {
                size_t run = 0;

                if (!is_digit(*p)) {
                        p++;
                        continue;
                }
                while (is_digit(p[run]))
                        run++;
                if (run == 17 && (p[run] == 'X' || p[run] == 'x'))
                        run++;
                if (run >= 15) {
                        char mask[19];
                        size_t i;

                        if (run == ZZ_IDNO_LEN) {
                                zz_idno_mask(p, run, mask);
                                memcpy(p, mask, run);
                        } else {
                                /* 15-digit first-generation numbers and
                                 * anything else that long: keep the first
                                 * four and last four. */
                                for (i = 4; i + 4 < run; i++)
                                        p[i] = '*';
                        }
                        masked++;
                }
                p += run;
        }
        return masked;
}

static const char *level_name(zz_log_level_t level)
{
        switch (level) {
        case ZZ_LOG_ERROR:
                return "error";
        case ZZ_LOG_WARN:
                return "warn";
        case ZZ_LOG_INFO:
                return "info";
        case ZZ_LOG_DEBUG:
                return "debug";
        }
        return "info";
}

void zz_logv(zz_log_level_t level, const char *fmt, va_list ap)
{
        char msg[2048];
        char stamp[32];
        struct timespec now;
        struct tm tm_utc;
        char *q;

        if (level > zz_log_level)
                return;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        zz_log_scrub(msg);
        /* A quote inside msg would break logfmt: show it as '. */
        for (q = msg; *q != '\0'; q++) {
                if (*q == '"')
                        *q = '\'';
                else if (*q == '\n')
                        *q = ' ';
        }
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm_utc);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
        fprintf(stderr, "ts=%s level=%s comp=%s msg=\"%s\"\n", stamp,
                level_name(level), zz_log_component, msg);
}

void zz_log(zz_log_level_t level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        zz_logv(level, fmt, ap);
        va_end(ap);
}
