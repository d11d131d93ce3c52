/* sbuf.h — a growable byte buffer for rendering responses (JSON, HTML, metrics).
 * An allocation failure sticks: later appends do nothing and sbuf_failed() says
 * so, which keeps render code free of per-call checks. */
#ifndef HP_SBUF_H
#define HP_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *buf; /* NUL-terminated while len > 0; owned, released by sbuf_release */
    size_t len, cap;
    int failed;
} sbuf;

#define SBUF_INIT                                                                                  \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void sbuf_append(sbuf *b, const char *s, size_t n);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, " and ' replaced by HTML entities. */
void sbuf_html(sbuf *b, const char *s);
int sbuf_failed(const sbuf *b);
/* Hands the buffer to the caller (who frees it with free()); b is left empty. */
char *sbuf_detach(sbuf *b, size_t *len);
void sbuf_release(sbuf *b);

#endif
