/*
 * arena.h — per-message scratch memory.
 *
 * One arena is reset per message or per batch (as PostgreSQL's memory
 * contexts are) instead of freeing piece by piece. Blocks grow as needed;
 * zz_arena_reset keeps the first block for reuse.
 */
#ifndef ZIZHU_ARENA_H
#define ZIZHU_ARENA_H

#include <stddef.h>

typedef struct zz_arena_s zz_arena_t;

/* block_size 0 picks a default (64 KiB). NULL on out of memory. */
zz_arena_t *zz_arena_new(size_t block_size);
/* Frees everything. Accepts NULL. */
void zz_arena_destroy(zz_arena_t *arena);
/* Forgets every allocation; memory is kept for reuse. */
void zz_arena_reset(zz_arena_t *arena);
/* size bytes aligned to max_align_t; NULL on out of memory. Owned by the
 * arena: never free() it. */
void *zz_arena_alloc(zz_arena_t *arena, size_t size);
void *zz_arena_calloc(zz_arena_t *arena, size_t n, size_t size);
/* Copies s[0..len) and a NUL. */
char *zz_arena_strndup(zz_arena_t *arena, const char *s, size_t len);
char *zz_arena_strdup(zz_arena_t *arena, const char *s);
/* Bytes handed out since the last reset. */
size_t zz_arena_used(const zz_arena_t *arena);

#endif
