/* test_common.c — bounded copies (a cut never splits a UTF-8 character) and
 * addresses. */
#include "check.h"
#include "core/common.h"
#include "core/utf8.h"

int main(void)
{
    char buf[8], host[HP_HOST_MAX];
    int port = 0;

    /* no truncation */
    CHECK(hp_strlcpy(buf, "abc", sizeof(buf)) == 3);
    CHECK_STR(buf, "abc");
    CHECK(hp_strlcpy(buf, "1234567", sizeof(buf)) == 7);
    CHECK_STR(buf, "1234567");
    /* plain truncation: the length of src is returned */
    CHECK(hp_strlcpy(buf, "123456789", sizeof(buf)) == 9);
    CHECK_STR(buf, "1234567");
    CHECK(hp_strlcpy(buf, "x", 0) == 1);
    CHECK(hp_strlcpy(buf, "xyz", 1) == 3);
    CHECK_STR(buf, "");

    /* a cut inside a character backs off to its first byte */
    hp_strlcpy(buf, "123456\xc3\xa9", sizeof(buf)); /* é would need bytes 7-8 */
    CHECK_STR(buf, "123456");
    hp_strlcpy(buf, "12345\xe2\x9c\x93", sizeof(buf)); /* ✓: 3 bytes, 2 fit */
    CHECK_STR(buf, "12345");
    hp_strlcpy(buf, "1234\xe2\x9c\x93", sizeof(buf)); /* ✓ fits exactly */
    CHECK_STR(buf, "1234\xe2\x9c\x93");
    hp_strlcpy(buf, "123\xf0\x9f\x98\x80xyz", sizeof(buf)); /* 😀 fits, then cut */
    CHECK_STR(buf, "123\xf0\x9f\x98\x80");
    hp_strlcpy(buf, "1234\xf0\x9f\x98\x80", sizeof(buf)); /* 3 of 4 bytes fit */
    CHECK_STR(buf, "1234");
    hp_strlcpy(buf, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80", sizeof(buf));
    CHECK_STR(buf, "\xf0\x9f\x98\x80");
    CHECK(utf8_valid(buf, strlen(buf)));
    /* already invalid input is not made worse, nor "repaired" here */
    hp_strlcpy(buf, "1234567\x80\x80", sizeof(buf));
    CHECK_STR(buf, "1234567");
    hp_strlcpy(buf, "123456\xff\x80", sizeof(buf));
    CHECK_STR(buf, "123456\xff");

    CHECK(hp_addr_parse("127.0.0.1:6379", host, sizeof(host), &port) == 0);
    CHECK_STR(host, "127.0.0.1");
    CHECK(port == 6379);
    CHECK(hp_addr_parse("[::1]:26379", host, sizeof(host), &port) == 0 && port == 26379);
    CHECK_STR(host, "::1");
    CHECK(hp_addr_parse("nohost", host, sizeof(host), &port) < 0);
    return check_done();
}
