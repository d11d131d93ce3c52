/* test_jsonscan.c — the pre-parse check of request bodies: nesting depth
 * outside strings, UTF-8 and NUL inside them. */
#include <stdlib.h>

#include "check.h"
#include "core/jsonscan.h"

static char err[256];

/* jsonscan_check on a string literal (its NUL not included). */
#define SCAN(lit) SCAN_D(lit, JSONSCAN_MAX_DEPTH)
#define SCAN_D(lit, depth) jsonscan_check((lit), sizeof(lit) - 1, (depth), err, sizeof(err))

/* n '[' then n ']' (caller frees). */
static char *nested(int n, size_t *len)
{
    char *s = malloc((size_t)n * 2 + 1);
    int i;
    for (i = 0; i < n; i++) {
        s[i] = '[';
        s[n + i] = ']';
    }
    s[2 * n] = '\0';
    *len = (size_t)n * 2;
    return s;
}

int main(void)
{
    size_t len;
    char *s;

    CHECK(SCAN("") == JSONSCAN_OK);
    CHECK(SCAN("{}") == JSONSCAN_OK);
    CHECK(SCAN("{\"mode\":\"force\",\"reason\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\"}") ==
          JSONSCAN_OK);
    CHECK(SCAN("{\"a\":[1,{\"b\":[]}]}") == JSONSCAN_OK);

    /* depth: 32 is fine, 33 is not, and the message names the limit */
    s = nested(32, &len);
    CHECK(jsonscan_check(s, len, 32, err, sizeof(err)) == JSONSCAN_OK);
    free(s);
    s = nested(33, &len);
    CHECK(jsonscan_check(s, len, 32, err, sizeof(err)) == JSONSCAN_TOO_DEEP);
    CHECK(strstr(err, "32") != NULL);
    free(s);
    s = nested(900, &len);
    CHECK(jsonscan_check(s, len, 32, err, sizeof(err)) == JSONSCAN_TOO_DEEP);
    free(s);
    /* siblings do not add up; closing brackets give levels back */
    s = nested(30, &len);
    CHECK(jsonscan_check(s, len, 30, err, sizeof(err)) == JSONSCAN_OK);
    free(s);
    CHECK(SCAN_D("[[],[],[[]]]", 3) == JSONSCAN_OK);
    CHECK(SCAN_D("[[],[],[[[]]]]", 3) == JSONSCAN_TOO_DEEP);
    /* stray closers cannot buy depth */
    CHECK(SCAN_D("]]]][[[[", 3) == JSONSCAN_TOO_DEEP);
    /* brackets inside strings are text, also after escaped quotes */
    CHECK(SCAN_D("{\"r\":\"[[[[[[\"}", 1) == JSONSCAN_OK);
    CHECK(SCAN_D("{\"r\":\"\\\"[[[[\"}", 1) == JSONSCAN_OK);
    CHECK(SCAN_D("{\"r\":\"\\\\\",\"s\":[[]]}", 2) == JSONSCAN_TOO_DEEP);

    /* raw bytes in strings */
    CHECK(SCAN("{\"r\":\"bad \xff byte\"}") == JSONSCAN_BAD_TEXT);
    CHECK(strstr(err, "UTF-8") != NULL);
    CHECK(SCAN("{\"r\":\"\xc0\xaf\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\xed\xa0\x80\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\xe2\x82x\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\xf4\x90\x80\x80\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\xff\":\"x\"}") == JSONSCAN_BAD_TEXT); /* keys are strings too */
    CHECK(SCAN("{\"r\":\"\xe2\x82") == JSONSCAN_BAD_TEXT); /* cut by the end */
    /* NUL: raw anywhere, or escaped */
    CHECK(SCAN("{\"r\":\"a\0b\"}") == JSONSCAN_BAD_TEXT);
    CHECK(strstr(err, "NUL") != NULL);
    CHECK(SCAN("{\"r\":\"x\"}\0junk") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\\0\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"a\\u0000b\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\u0001\"}") == JSONSCAN_OK);
    /* surrogates: pairs only */
    CHECK(SCAN("{\"r\":\"\\ud800\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\uDBFF\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\udc00x\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\ud800\\u0041\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\ud800\\ud800\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\ud800x\\udc00\"}") == JSONSCAN_BAD_TEXT);
    CHECK(SCAN("{\"r\":\"\\uD83D\\uDE00\"}") == JSONSCAN_OK);
    CHECK(SCAN("{\"r\":\"\\ud7ff\\ue000\"}") == JSONSCAN_OK);
    /* malformed escapes are the parser's business, not a crash here */
    CHECK(SCAN("{\"r\":\"\\u12\"}") == JSONSCAN_OK);
    CHECK(SCAN("{\"r\":\"\\u") == JSONSCAN_OK);
    CHECK(SCAN("{\"r\":\"\\") == JSONSCAN_OK);
    /* outside strings, bytes are left to the parser */
    CHECK(SCAN("{\"r\":1}\xff") == JSONSCAN_OK);
    return check_done();
}
