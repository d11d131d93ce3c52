/* test_utf8.c — UTF-8 validation, the '?' repair and the cJSON tree fixer. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "check.h"
#include "core/utf8.h"

/* utf8_valid on a string literal (its NUL not included). */
#define VALID(lit) utf8_valid((lit), sizeof(lit) - 1)

static void fixes_to(const char *in, const char *want, size_t want_fixed)
{
    char buf[64];
    size_t n;
    snprintf(buf, sizeof(buf), "%s", in);
    n = utf8_fix_str(buf);
    CHECK_STR(buf, want);
    CHECK(n == want_fixed);
    CHECK(utf8_valid(buf, strlen(buf)));
}

int main(void)
{
    cJSON *root, *arr;
    char *s;

    /* well-formed, one of each length and the edges of the table */
    CHECK(VALID(""));
    CHECK(VALID("plain ascii"));
    CHECK(VALID("caf\xc3\xa9"));                      /* U+00E9 */
    CHECK(VALID("\xc2\x80\xdf\xbf"));                 /* U+0080, U+07FF */
    CHECK(VALID("\xe0\xa0\x80\xef\xbf\xbf"));         /* U+0800, U+FFFF */
    CHECK(VALID("\xed\x9f\xbf\xee\x80\x80"));         /* U+D7FF, U+E000 */
    CHECK(VALID("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf")); /* U+10000, U+10FFFF */
    CHECK(VALID("\xe2\x9c\x93 \xf0\x9f\x98\x80"));
    CHECK(utf8_seq_len("\xf0\x9f\x98\x80", 4) == 4);
    CHECK(utf8_seq_len("a", 1) == 1);
    CHECK(utf8_seq_len("", 1) == 1); /* NUL is a character; callers decide */

    /* ill-formed */
    CHECK(!VALID("\xff"));
    CHECK(!VALID("\xfe"));
    CHECK(!VALID("\x80"));     /* stray continuation */
    CHECK(!VALID("\xc0\xaf")); /* overlong '/' */
    CHECK(!VALID("\xc1\xbf"));
    CHECK(!VALID("\xe0\x80\xaf"));     /* overlong, 3 bytes */
    CHECK(!VALID("\xf0\x80\x80\xaf")); /* overlong, 4 bytes */
    CHECK(!VALID("\xed\xa0\x80"));     /* U+D800, a surrogate */
    CHECK(!VALID("\xed\xbf\xbf"));     /* U+DFFF */
    CHECK(!VALID("\xf4\x90\x80\x80")); /* U+110000 */
    CHECK(!VALID("\xf5\x80\x80\x80"));
    CHECK(!VALID("\xe2\x82"));  /* cut by the end */
    CHECK(!VALID("\xe2\x82x")); /* cut by another byte */
    CHECK(!VALID("\xc3"));
    CHECK(utf8_seq_len("\xe2\x82\xac", 2) == 0); /* the length given counts */
    CHECK(utf8_seq_len("x", 0) == 0);

    /* the repair: each byte of a bad sequence becomes '?', length kept */
    fixes_to("bad\xffname", "bad?name", 1);
    fixes_to("\xe2\x82x", "??x", 2);
    fixes_to("\xc0\xafz", "??z", 2);
    fixes_to("\xed\xa0\x80z", "???z", 3);
    fixes_to("ok caf\xc3\xa9 \xe2\x9c\x93", "ok caf\xc3\xa9 \xe2\x9c\x93", 0);
    fixes_to("\x80\xc3\xa9\x80", "?\xc3\xa9?", 2);
    fixes_to("\xf0\x9f\x98", "???", 3);
    CHECK(utf8_fix_str(NULL) == 0);

    /* the tree fixer: keys and string values at every depth, numbers alone */
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "cluster", "bad\xffname");
    cJSON_AddStringToObject(root, "k\xfe", "v");
    arr = cJSON_AddArrayToObject(root, "nodes");
    cJSON_AddItemToArray(arr, cJSON_CreateString("\xc3"));
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "d"), "e"), "n",
                            5);
    cJSON_AddStringToObject(cJSON_GetObjectItem(root, "d"), "deep", "x\x80y");
    cJSON_AddItemToObject(root, "raw", cJSON_CreateRaw("\"r\xff\""));
    cJSON_AddStringToObject(root, "fine", "caf\xc3\xa9");
    hp_json_fix_utf8(root);
    s = cJSON_PrintUnformatted(root);
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(
            s, "{\"cluster\":\"bad?name\",\"k?\":\"v\",\"nodes\":[\"?\"],"
               "\"d\":{\"e\":{\"n\":5},\"deep\":\"x?y\"},\"raw\":\"r?\",\"fine\":\"caf\xc3\xa9\"}");
        CHECK(utf8_valid(s, strlen(s)));
    }
    cJSON_free(s);
    cJSON_Delete(root);
    hp_json_fix_utf8(NULL);
    return check_done();
}
