/* test_auth.c — bearer tokens and roles. */
#include "web/auth.h"
#include "check.h"
#include "web/http.h"

int main(void)
{
    config c;
    char name[64], err[256];

    config_defaults(&c);
    hp_strlcpy(c.sentinel_hosts, "127.0.0.1:26379", sizeof(c.sentinel_hosts));
    hp_strlcpy(c.api_tokens, "viewer:v-secret-1,operator:deploy:op-secret-2", sizeof(c.api_tokens));
    CHECK(config_finish(&c, err, sizeof(err)) == 0);

    CHECK(auth_role(&c, "Bearer v-secret-1", name, sizeof(name)) == ROLE_VIEWER);
    CHECK_STR(name, "viewer-1");
    CHECK(auth_role(&c, "bearer op-secret-2", name, sizeof(name)) == ROLE_OPERATOR);
    CHECK_STR(name, "deploy");
    CHECK(auth_role(&c, "Bearer v-secret-", name, sizeof(name)) == ROLE_NONE);   /* prefix */
    CHECK(auth_role(&c, "Bearer v-secret-12", name, sizeof(name)) == ROLE_NONE); /* longer */
    CHECK(auth_role(&c, "Bearer ", name, sizeof(name)) == ROLE_NONE);
    CHECK(auth_role(&c, "Basic v-secret-1", name, sizeof(name)) == ROLE_NONE);
    CHECK(auth_role(&c, NULL, name, sizeof(name)) == ROLE_NONE);
    CHECK(auth_role(&c, "Bearer deploy", name, sizeof(name)) == ROLE_NONE); /* a name is no token */

    CHECK(auth_equal("abc", 3, "abc", 3));
    CHECK(!auth_equal("abd", 3, "abc", 3));
    CHECK(!auth_equal("ab", 2, "abc", 3));
    CHECK(!auth_equal("abc\0", 4, "abc", 3));
    return check_done();
}
