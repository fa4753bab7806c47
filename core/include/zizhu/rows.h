/*
 * rows.h — a read-only table of text cells, the way the pure modules read
 * rows that some other layer loaded (the fact rows of casefold.h).
 *
 * A zz_rows_t is two pointers, passed by value: the source (borrowed; a
 * PGresult for zz_pg_rows() of pg.h, an array in a unit test) and the
 * function that returns a cell's text, NULL for SQL NULL. The cell's text
 * lives as long as the source. Pure code that takes a zz_rows_t links
 * neither libpq nor anything else that does I/O.
 *
 * Thread: a zz_rows_t is used by the thread that owns its source.
 */
#ifndef ZIZHU_ROWS_H
#define ZIZHU_ROWS_H

typedef struct zz_rows_s {
        const void *src;
        /* The text of cell (row, col); NULL when the cell is null. */
        const char *(*cell)(const void *src, int row, int col);
} zz_rows_t;

/* The text of a cell, NULL when null. */
static inline const char *zz_rows_val(zz_rows_t rows, int row, int col)
{
        return rows.cell(rows.src, row, col);
}

/* The text of a cell, "" when null (as libpq's PQgetvalue). */
static inline const char *zz_rows_text(zz_rows_t rows, int row, int col)
{
        const char *s = rows.cell(rows.src, row, col);

        return s != NULL ? s : "";
}

#endif
