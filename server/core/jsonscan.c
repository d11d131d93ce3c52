/* jsonscan.c — the pre-parse check of client JSON (see jsonscan.h). One pass,
 * no recursion: a depth counter outside strings, and inside strings the
 * UTF-8 rules of utf8.c plus the \u escapes, which can spell a NUL or half a
 * surrogate pair that the raw bytes do not show. */
#include "core/jsonscan.h"

#include <stdio.h>

#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

/* The value of the 4 hex digits at s, or -1. */
static long hex4(const char *s)
{
    long v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* The \u escape at buf[i] (buf[i] == '\\', buf[i+1] == 'u'): how many bytes
 * it and, for a high surrogate, its low half take, or 0 when it encodes a NUL
 * or a lone surrogate. Malformed hex is left to the parser (6 bytes taken
 * when they exist). */
static size_t unicode_escape(const char *buf, size_t len, size_t i)
{
    long cp, lo;
    if (len - i < 6) return len - i; /* cut short: the parser refuses it */
    cp = hex4(buf + i + 2);
    if (cp < 0) return 6;
    if (cp == 0) return 0;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return 0; /* a low half first */
    if (cp < 0xD800 || cp > 0xDBFF) return 6;
    if (len - i < 12 || buf[i + 6] != '\\' || buf[i + 7] != 'u') return 0;
    lo = hex4(buf + i + 8);
    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
    return 12;
}

int jsonscan_check(const char *buf, size_t len, int max_depth, char *err, size_t errsz)
{
    size_t i = 0, n;
    int depth = 0, in_string = 0;

    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\0') {
            snprintf(err, errsz, "the body contains a NUL byte (at byte %zu)", i);
            return JSONSCAN_BAD_TEXT;
        }
        if (!in_string) {
            if (c == '"') {
                in_string = 1;
            } else if (c == '{' || c == '[') {
                if (++depth > max_depth) {
                    snprintf(err, errsz, "the body nests deeper than %d levels", max_depth);
                    return JSONSCAN_TOO_DEEP;
                }
            } else if ((c == '}' || c == ']') && depth > 0) {
                depth--;
            }
            i++;
            continue;
        }
        if (c == '"') {
            in_string = 0;
            i++;
        } else if (c == '\\' && i + 1 < len && buf[i + 1] == 'u') {
            n = unicode_escape(buf, len, i);
            if (!n) {
                snprintf(err, errsz,
                         "a string escapes a NUL or a lone surrogate (at byte %zu); strings "
                         "must be valid UTF-8 without NUL",
                         i);
                return JSONSCAN_BAD_TEXT;
            }
            i += n;
        } else if (c == '\\') {
            i += 2; /* the escaped byte cannot end the string; a NUL there is caught next */
            if (i > len) i = len;
            if (buf[i - 1] == '\0') {
                snprintf(err, errsz, "the body contains a NUL byte (at byte %zu)", i - 1);
                return JSONSCAN_BAD_TEXT;
            }
        } else if (c < 0x80) {
            i++;
        } else {
            n = utf8_seq_len(buf + i, len - i);
            if (!n) {
                snprintf(err, errsz,
                         "a string is not valid UTF-8 (at byte %zu); strings must be valid "
                         "UTF-8 without NUL",
                         i);
                return JSONSCAN_BAD_TEXT;
            }
            i += n;
        }
    }
    return JSONSCAN_OK;
}
