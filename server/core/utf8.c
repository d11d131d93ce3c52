/* utf8.c — UTF-8 validation and repair (see utf8.h). The rules are those of
 * the Unicode standard's table of well-formed byte sequences (3-7), which is
 * also what strict JSON decoders (Python's json on decoded text, browsers)
 * accept. */
#include "core/utf8.h"

#include <cjson/cJSON.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

size_t utf8_seq_len(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t n, i;

    if (len == 0) return 0;
    if (p[0] < 0x80) return 1;
    if (p[0] < 0xC2) return 0; /* continuation byte, or overlong C0/C1 */
    if (p[0] < 0xE0) {
        n = 2;
    } else if (p[0] < 0xF0) {
        n = 3;
        if (p[0] == 0xE0) lo = 0xA0; /* overlong */
        if (p[0] == 0xED) hi = 0x9F; /* surrogates */
    } else if (p[0] < 0xF5) {
        n = 4;
        if (p[0] == 0xF0) lo = 0x90; /* overlong */
        if (p[0] == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || p[1] < lo || p[1] > hi) return 0;
    for (i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

int utf8_valid(const char *s, size_t len)
{
    size_t i = 0, n;
    while (i < len) {
        n = utf8_seq_len(s + i, len - i);
        if (!n) return 0;
        i += n;
    }
    return 1;
}

size_t utf8_fix(char *s, size_t len)
{
    size_t i = 0, n, fixed = 0;
    while (i < len) {
        n = utf8_seq_len(s + i, len - i);
        if (n) {
            i += n;
            continue;
        }
        /* One byte at a time: the next byte may start a good sequence. */
        s[i++] = '?';
        fixed++;
    }
    return fixed;
}

size_t utf8_fix_str(char *s)
{
    return s ? utf8_fix(s, strlen(s)) : 0;
}

/* Fixes item's key and text. A constant key (a literal) or a reference
 * value is someone else's memory, possibly read-only or shared: it is left
 * alone (hapanel creates neither from outside text). */
static void fix_item(cJSON *item)
{
    if (!(item->type & cJSON_StringIsConst)) utf8_fix_str(item->string);
    if ((cJSON_IsString(item) || cJSON_IsRaw(item)) && !(item->type & cJSON_IsReference))
        utf8_fix_str(item->valuestring);
}

/* Walks siblings in a loop and recurses into children only, so the depth of
 * the C stack is the nesting depth of the tree (a few levels in what hapanel
 * renders; request bodies are limited to 32 before they are parsed). */
static void fix_children(cJSON *first)
{
    cJSON *it;
    for (it = first; it; it = it->next) {
        fix_item(it);
        if (it->child) fix_children(it->child);
    }
}

void hp_json_fix_utf8(cJSON *root)
{
    if (!root) return;
    fix_item(root);
    fix_children(root->child);
}
