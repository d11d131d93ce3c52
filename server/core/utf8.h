/* utf8.h — UTF-8 checks and repair for text hapanel did not write itself.
 * Redis and Sentinel take any bytes as names and messages (a master can be
 * called "bad\xffname"), and cJSON prints bytes as they are, so one bad byte
 * in a stored string would make every JSON document containing it invalid
 * for good. Everything from outside is checked here before it is stored or
 * printed. Pure: no I/O, no allocation. */
#ifndef HP_UTF8_H
#define HP_UTF8_H

#include <stddef.h>

struct cJSON;

/* The length (1-4) of the well-formed UTF-8 sequence at s (len bytes
 * available), or 0 when s does not start one: a stray continuation byte, an
 * overlong form, an encoded surrogate (U+D800..U+DFFF), a code point above
 * U+10FFFF, or a sequence cut by the end. A NUL byte is a valid sequence of
 * length 1 (callers decide whether they want it). */
size_t utf8_seq_len(const char *s, size_t len);

/* 1 when the len bytes at s are well-formed UTF-8, else 0. */
int utf8_valid(const char *s, size_t len);

/* Replaces, in place, each byte of s that is not part of a well-formed
 * sequence with '?', so the length stays the same. Returns the number of
 * bytes replaced. */
size_t utf8_fix(char *s, size_t len);

/* utf8_fix on a NUL-terminated string; NULL is a no-op. */
size_t utf8_fix_str(char *s);

/* Fixes, in place, every string value (and raw text) and every key of the
 * tree under root, so that cJSON prints valid UTF-8. NULL is a no-op. */
void hp_json_fix_utf8(struct cJSON *root);

#endif
