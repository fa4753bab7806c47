/*
 * c11_threads.c — C11 threads over the pthread calls ThreadSanitizer
 * intercepts; linked into the programs of a Tsan build only (see the top
 * CMakeLists.txt).
 *
 * librdkafka uses <threads.h>: thrd_create, mtx_lock, cnd_wait... glibc
 * implements those by calling its pthread functions internally, past the
 * interceptors of GCC 12's ThreadSanitizer. TSan then does not know the
 * threads librdkafka starts (it crashes in their first malloc) and sees
 * none of librdkafka's locks, so every hand-over between librdkafka's
 * threads and ours would look like a race. Defined in the executable,
 * these functions take the place of glibc's for librdkafka, and call the
 * pthread functions through the dynamic linker, where TSan sees them.
 * The types are glibc's own: thrd_t is a pthread_t, mtx_t, cnd_t and
 * once_flag have the layout of their pthread counterparts (glibc's
 * threads.h says so and its implementation casts the same way).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

struct start {
        thrd_start_t func;
        void *arg;
};

static int result(int rc)
{
        if (rc == 0)
                return thrd_success;
        if (rc == ENOMEM)
                return thrd_nomem;
        if (rc == EBUSY)
                return thrd_busy;
        if (rc == ETIMEDOUT)
                return thrd_timedout;
        return thrd_error;
}

static void *trampoline(void *p)
{
        struct start s = *(struct start *)p;

        free(p);
        return (void *)(intptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
        struct start *s = malloc(sizeof(*s));
        int rc;

        if (s == NULL)
                return thrd_nomem;
        s->func = func;
        s->arg = arg;
        rc = pthread_create(thr, NULL, trampoline, s);
        if (rc != 0)
                free(s);
        return result(rc);
}

int thrd_join(thrd_t thr, int *res)
{
        void *r = NULL;
        int rc = pthread_join(thr, &r);

        if (rc == 0 && res != NULL)
                *res = (int)(intptr_t)r;
        return result(rc);
}

int thrd_detach(thrd_t thr)
{
        return result(pthread_detach(thr));
}

int mtx_init(mtx_t *mtx, int type)
{
        pthread_mutexattr_t attr;
        int rc;

        pthread_mutexattr_init(&attr);
        if (type & mtx_recursive)
                pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
        rc = pthread_mutex_init((pthread_mutex_t *)mtx, &attr);
        pthread_mutexattr_destroy(&attr);
        return result(rc);
}

int mtx_lock(mtx_t *mtx)
{
        return result(pthread_mutex_lock((pthread_mutex_t *)mtx));
}

int mtx_trylock(mtx_t *mtx)
{
        return result(pthread_mutex_trylock((pthread_mutex_t *)mtx));
}

int mtx_timedlock(mtx_t *restrict mtx, const struct timespec *restrict ts)
{
        return result(pthread_mutex_timedlock((pthread_mutex_t *)mtx, ts));
}

int mtx_unlock(mtx_t *mtx)
{
        return result(pthread_mutex_unlock((pthread_mutex_t *)mtx));
}

void mtx_destroy(mtx_t *mtx)
{
        pthread_mutex_destroy((pthread_mutex_t *)mtx);
}

int cnd_init(cnd_t *cnd)
{
        return result(pthread_cond_init((pthread_cond_t *)cnd, NULL));
}

int cnd_signal(cnd_t *cnd)
{
        return result(pthread_cond_signal((pthread_cond_t *)cnd));
}

int cnd_broadcast(cnd_t *cnd)
{
        return result(pthread_cond_broadcast((pthread_cond_t *)cnd));
}

int cnd_wait(cnd_t *cnd, mtx_t *mtx)
{
        return result(
            pthread_cond_wait((pthread_cond_t *)cnd, (pthread_mutex_t *)mtx));
}

int cnd_timedwait(cnd_t *restrict cnd, mtx_t *restrict mtx,
                  const struct timespec *restrict ts)
{
        return result(pthread_cond_timedwait((pthread_cond_t *)cnd,
                                             (pthread_mutex_t *)mtx, ts));
}

void cnd_destroy(cnd_t *cnd)
{
        pthread_cond_destroy((pthread_cond_t *)cnd);
}

void call_once(once_flag *flag, void (*func)(void))
{
        pthread_once((pthread_once_t *)flag, func);
}
