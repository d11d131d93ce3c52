/* test_auth.c — bearer tokens and roles. */
#include "web/auth.h"
#include "check.h"
#include "web/http.h"

#include <stdio.h>
#include <string.h>

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

    /* stored hashes: a token as $sha256$, a user's password as $pbkdf2-sha256$ */
    {
        char th[AUTH_HASH_MAX], ph[AUTH_HASH_MAX], th2[AUTH_HASH_MAX];
        config h;
        CHECK(auth_hash("tok-admin-9", 11, 0, th) == 0);
        CHECK(auth_hash("tok-admin-9", 11, 0, th2) == 0);
        CHECK(strcmp(th, th2) != 0); /* a fresh salt each time */
        CHECK(!strncmp(th, "$sha256$", 8) && strlen(th) == 8 + 32 + 1 + 64);
        CHECK(auth_hash("pass word", 9, 1000, ph) == 0);
        CHECK(!strncmp(ph, "$pbkdf2-sha256$1000$", 20));
        CHECK(auth_check(th, "tok-admin-9", 11));
        CHECK(!auth_check(th, "tok-admin-8", 11));
        CHECK(!auth_check(th, "tok-admin-9x", 12));
        CHECK(auth_check(ph, "pass word", 9));
        CHECK(!auth_check(ph, "pass wore", 9));
        CHECK(!auth_check("$sha256$zz$00", "x", 1)); /* malformed: never a match */
        CHECK(!auth_check("$pbkdf2-sha256$0$00$00", "x", 1));
        CHECK(auth_check("plain", "plain", 5) && !auth_check("plain", "plai", 4));

        config_defaults(&h);
        hp_strlcpy(h.sentinel_hosts, "127.0.0.1:26379", sizeof(h.sentinel_hosts));
        snprintf(h.api_tokens, sizeof(h.api_tokens), "admin:root:%s,viewer:v-plain", th);
        snprintf(h.users_raw, sizeof(h.users_raw), "operator:alice:%s", ph);
        CHECK(config_finish(&h, err, sizeof(err)) == 0);
        CHECK(h.tokens[0].hashed && !h.tokens[1].hashed);
        CHECK(auth_role(&h, "Bearer tok-admin-9", name, sizeof(name)) == ROLE_ADMIN);
        CHECK_STR(name, "root");
        CHECK(auth_role(&h, "Bearer v-plain", name, sizeof(name)) == ROLE_VIEWER);
        CHECK(auth_role(&h, "Bearer $sha256$", name, sizeof(name)) == ROLE_NONE);
        CHECK(auth_user(&h, "alice", "pass word", 9) == ROLE_OPERATOR);
        CHECK(auth_user(&h, "alice", "pass wor", 8) == ROLE_NONE);
        CHECK(auth_user(&h, "bob", "pass word", 9) == ROLE_NONE);
        CHECK(auth_role(&h, "Bearer pass word", name, sizeof(name)) == ROLE_NONE);

        /* a user's password in plain text, a user without a name, a name twice */
        hp_strlcpy(h.users_raw, "operator:alice:secret", sizeof(h.users_raw));
        CHECK(config_finish(&h, err, sizeof(err)) < 0 && strstr(err, "--hash-password") &&
              !strstr(err, "secret"));
        snprintf(h.users_raw, sizeof(h.users_raw), "operator:%s", ph);
        CHECK(config_finish(&h, err, sizeof(err)) < 0);
        snprintf(h.users_raw, sizeof(h.users_raw), "operator:alice:%s,viewer:alice:%s", ph, ph);
        CHECK(config_finish(&h, err, sizeof(err)) < 0 && strstr(err, "twice"));
        hp_strlcpy(h.users_raw, "", sizeof(h.users_raw));
        hp_strlcpy(h.api_tokens, "root:x", sizeof(h.api_tokens));
        CHECK(config_finish(&h, err, sizeof(err)) < 0 && strstr(err, "admin"));
    }

    CHECK(auth_equal("abc", 3, "abc", 3));
    CHECK(!auth_equal("abd", 3, "abc", 3));
    CHECK(!auth_equal("ab", 2, "abc", 3));
    CHECK(!auth_equal("abc\0", 4, "abc", 3));
    return check_done();
}
