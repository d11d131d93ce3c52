/* jsonscan.h — a check of raw JSON text from a client before cJSON parses it.
 * cJSON recurses once per nesting level, and a civetweb worker's stack is
 * small: a 1.8 KB body of 900 nested arrays overflowed it (SIGSEGV). And
 * cJSON keeps the bytes of a string as they are, so invalid UTF-8 or a NUL
 * would be stored and break every JSON document that shows it later. This is
 * not a JSON validator: the grammar is still cJSON's job; this only counts
 * nesting outside strings and checks what strings contain. Pure: no I/O. */
#ifndef HP_JSONSCAN_H
#define HP_JSONSCAN_H

#include <stddef.h>

#define JSONSCAN_MAX_DEPTH 32 /* request bodies are flat objects; 32 is plenty */

enum {
    JSONSCAN_OK = 0,
    JSONSCAN_TOO_DEEP = -1, /* more than max_depth nested objects/arrays */
    JSONSCAN_BAD_TEXT = -2, /* invalid UTF-8, a NUL (raw or \u0000), a lone surrogate */
};

/* Scans the len bytes at buf. Returns JSONSCAN_OK, or a negative JSONSCAN_*
 * with a message for the client (naming the limit, or what is wrong and at
 * which byte) in err. A NUL byte anywhere is refused, so the text can then
 * be handed to a parser that stops at NUL. */
int jsonscan_check(const char *buf, size_t len, int max_depth, char *err, size_t errsz);

#endif
