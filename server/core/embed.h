/* embed.h — files compiled into the binary at build time (cmake/embed.cmake):
 * the SQL migrations, applied in name order, and the dashboard's static assets.
 * Each table ends with a zeroed entry. */
#ifndef HP_EMBED_H
#define HP_EMBED_H

#include <stddef.h>

typedef struct embedded_file {
    const char *name; /* file name without directory, e.g. "0001_events.sql" */
    const unsigned char *data;
    size_t len;
} embedded_file;

extern const embedded_file hp_migrations[];
extern const embedded_file hp_web_assets[];

#endif
