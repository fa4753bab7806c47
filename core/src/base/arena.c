/*
 * arena.c — bump allocator in linked blocks, reset per message or batch.
 */
#include "zizhu/arena.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZZ_ARENA_ALIGN         (_Alignof(max_align_t))
#define ZZ_ARENA_DEFAULT_BLOCK ((size_t)64 * 1024)

struct zz_arena_block {
        struct zz_arena_block *next;
        size_t size; /* usable bytes after the header */
        size_t used;
        max_align_t data[]; /* aligned payload */
};

struct zz_arena_s {
        struct zz_arena_block *head; /* current block, newest first */
        size_t block_size;
        size_t used_total;
};

static struct zz_arena_block *block_new(size_t size)
{
        struct zz_arena_block *block;

        block = malloc(sizeof(*block) + size);
        if (block == NULL)
                return NULL;
        block->next = NULL;
        block->size = size;
        block->used = 0;
        return block;
}

zz_arena_t *zz_arena_new(size_t block_size)
{
        zz_arena_t *arena = calloc(1, sizeof(*arena));

        if (arena == NULL)
                return NULL;
        arena->block_size =
            block_size != 0 ? block_size : ZZ_ARENA_DEFAULT_BLOCK;
        arena->head = block_new(arena->block_size);
        if (arena->head == NULL) {
                free(arena);
                return NULL;
        }
        return arena;
}

void zz_arena_destroy(zz_arena_t *arena)
{
        struct zz_arena_block *block;

        if (arena == NULL)
                return;
        block = arena->head;
        while (block != NULL) {
                struct zz_arena_block *next = block->next;

                free(block);
                block = next;
        }
        free(arena);
}

void zz_arena_reset(zz_arena_t *arena)
{
        struct zz_arena_block *block;

        if (arena == NULL)
                return;
        /* Keep only the oldest block (the last in the list): it has the
         * configured size, larger ones were one-off big requests. */
        block = arena->head;
        while (block->next != NULL) {
                struct zz_arena_block *next = block->next;

                free(block);
                block = next;
        }
        block->used = 0;
        arena->head = block;
        arena->used_total = 0;
}

void *zz_arena_alloc(zz_arena_t *arena, size_t size)
{
        struct zz_arena_block *block = arena->head;
        size_t need;
        void *p;

        if (size > SIZE_MAX - ZZ_ARENA_ALIGN)
                return NULL;
        need = (size + ZZ_ARENA_ALIGN - 1) & ~(ZZ_ARENA_ALIGN - 1);
        if (need == 0)
                need = ZZ_ARENA_ALIGN;
        if (block->size - block->used < need) {
                size_t bsize =
                    need > arena->block_size ? need : arena->block_size;

                block = block_new(bsize);
                if (block == NULL)
                        return NULL;
                block->next = arena->head;
                arena->head = block;
        }
        p = (char *)block->data + block->used;
        block->used += need;
        arena->used_total += need;
        return p;
}

void *zz_arena_calloc(zz_arena_t *arena, size_t n, size_t size)
{
        void *p;

        if (size != 0 && n > SIZE_MAX / size)
                return NULL;
        p = zz_arena_alloc(arena, n * size);
        if (p != NULL)
                memset(p, 0, n * size);
        return p;
}

char *zz_arena_strndup(zz_arena_t *arena, const char *s, size_t len)
{
        char *p = zz_arena_alloc(arena, len + 1);

        if (p == NULL)
                return NULL;
        memcpy(p, s, len);
        p[len] = '\0';
        return p;
}

char *zz_arena_strdup(zz_arena_t *arena, const char *s)
{
        return zz_arena_strndup(arena, s, strlen(s));
}

size_t zz_arena_used(const zz_arena_t *arena)
{
        return arena->used_total;
}
