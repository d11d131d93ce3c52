/* test_forward.c — the pure parts of web/forward.c: the X-Hapanel-Forwarded
 * value written and read back (a user name with spaces and '%'), malformed
 * values refused, and the signature checked against one computed with
 * Python's hmac (the leader and the follower must agree to the byte). */
#include <string.h>

#include "check.h"
#include "core/roles.h"
#include "web/forward.h"

int main(void)
{
    forward_claim fc, back;
    char hv[400], sig[65], sig2[65];
    const char *body = "{\"reason\":\"x\"}";

    memset(&fc, 0, sizeof(fc));
    strcpy(fc.instance, "p2");
    strcpy(fc.actor, "al ice");
    strcpy(fc.role, "operator");
    strcpy(fc.via, "token");
    fc.ts_ms = 1700000000000LL;

    forward_header_value(&fc, hv, sizeof(hv));
    CHECK_STR(hv, "v1 p2 al%20ice operator token 1700000000000");
    CHECK(forward_header_parse(hv, &back) == 0);
    CHECK_STR(back.instance, "p2");
    CHECK_STR(back.actor, "al ice");
    CHECK_STR(back.role, "operator");
    CHECK_STR(back.via, "token");
    CHECK(back.ts_ms == 1700000000000LL);

    strcpy(fc.actor, "50%\n\"x\"");
    forward_header_value(&fc, hv, sizeof(hv));
    CHECK(strchr(hv, '\n') == NULL);
    CHECK(forward_header_parse(hv, &back) == 0);
    CHECK_STR(back.actor, "50%\n\"x\"");

    CHECK(forward_header_parse("", &back) < 0);
    CHECK(forward_header_parse("v2 p2 a operator token 1", &back) < 0);
    CHECK(forward_header_parse("v1 p2 a operator token", &back) < 0);       /* 5 fields */
    CHECK(forward_header_parse("v1 p2 a operator token 1 x", &back) < 0);   /* 7 fields */
    CHECK(forward_header_parse("v1 p2 a operator token 12x", &back) < 0);   /* ts */
    CHECK(forward_header_parse("v1 p2 a%2 operator token 1", &back) < 0);   /* cut escape */
    CHECK(forward_header_parse("v1 p2 a%00b operator token 1", &back) < 0); /* NUL */
    CHECK(forward_header_parse("v1 p2 a%zzb operator token 1", &back) < 0); /* not hex */
    CHECK(forward_header_parse("v1 p2 a operator token 1  ", &back) == 0);  /* spaces after */

    strcpy(fc.actor, "al ice");
    forward_sign("sekrit", "POST", "/api/v1/clusters/m/backups?a=1", &fc, body, strlen(body), sig);
    /* hmac.new(b"sekrit", "v1\nPOST\n/api/v1/clusters/m/backups?a=1\np2\nal ice\noperator\n"
     * "token\n1700000000000\n" + sha256(body).hexdigest(), sha256).hexdigest() */
    CHECK_STR(sig, "51745c17759b09431d26fc80ebe3a0c291970764b5d0af624178024d5244a9d7");
    /* any field changes it */
    forward_sign("sekrit", "POST", "/api/v1/clusters/m/backups?a=2", &fc, body, strlen(body), sig2);
    CHECK(strcmp(sig, sig2) != 0);
    forward_sign("other", "POST", "/api/v1/clusters/m/backups?a=1", &fc, body, strlen(body), sig2);
    CHECK(strcmp(sig, sig2) != 0);
    forward_sign("sekrit", "POST", "/api/v1/clusters/m/backups?a=1", &fc, body, strlen(body) - 1,
                 sig2);
    CHECK(strcmp(sig, sig2) != 0);
    strcpy(fc.role, "admin");
    forward_sign("sekrit", "POST", "/api/v1/clusters/m/backups?a=1", &fc, body, strlen(body), sig2);
    CHECK(strcmp(sig, sig2) != 0);
    forward_sign("sekrit", "GET", "/x", &fc, NULL, 0, sig2);
    CHECK(strlen(sig2) == 64);

    /* forward_verify: what the leader does on arrival */
    {
        const char *uri = "/api/v1/clusters/m/backups?a=1";
        int64_t ts = fc.ts_ms;
        int role = -1;
        char why[160];
        strcpy(fc.role, "operator");
        forward_header_value(&fc, hv, sizeof(hv));
        forward_sign("sekrit", "POST", uri, &fc, body, strlen(body), sig);
        CHECK(forward_verify("sekrit", "POST", uri, hv, sig, body, strlen(body), ts + 29000, &back,
                             &role, why, sizeof(why)) == 0);
        CHECK(role == ROLE_OPERATOR);
        CHECK_STR(back.actor, "al ice");
        CHECK_STR(back.instance, "p2");
        /* 30 s off either way */
        CHECK(forward_verify("sekrit", "POST", uri, hv, sig, body, strlen(body), ts + 31000, &back,
                             &role, why, sizeof(why)) < 0);
        CHECK(strstr(why, "30 s") != NULL);
        CHECK(forward_verify("sekrit", "POST", uri, hv, sig, body, strlen(body), ts - 31000, &back,
                             &role, why, sizeof(why)) < 0);
        /* another method, path, body, secret; no signature; no secret here */
        CHECK(forward_verify("sekrit", "DELETE", uri, hv, sig, body, strlen(body), ts, &back, &role,
                             why, sizeof(why)) < 0);
        CHECK(strstr(why, "signature") != NULL && role == ROLE_NONE);
        CHECK(forward_verify("sekrit", "POST", "/api/v1/clusters/m/backups", hv, sig, body,
                             strlen(body), ts, &back, &role, why, sizeof(why)) < 0);
        CHECK(forward_verify("sekrit", "POST", uri, hv, sig, "{}", 2, ts, &back, &role, why,
                             sizeof(why)) < 0);
        CHECK(forward_verify("other", "POST", uri, hv, sig, body, strlen(body), ts, &back, &role,
                             why, sizeof(why)) < 0);
        CHECK(forward_verify("sekrit", "POST", uri, hv, NULL, body, strlen(body), ts, &back, &role,
                             why, sizeof(why)) < 0);
        CHECK(forward_verify("", "POST", uri, hv, sig, body, strlen(body), ts, &back, &role, why,
                             sizeof(why)) < 0);
        CHECK(strstr(why, "[ha] is off") != NULL && strstr(why, "sekrit") == NULL);
        CHECK(forward_verify("sekrit", "POST", uri, NULL, sig, body, strlen(body), ts, &back, &role,
                             why, sizeof(why)) < 0);
        /* a role raised after signing */
        strcpy(fc.role, "admin");
        forward_header_value(&fc, hv, sizeof(hv));
        CHECK(forward_verify("sekrit", "POST", uri, hv, sig, body, strlen(body), ts, &back, &role,
                             why, sizeof(why)) < 0);
        /* an unknown role, even signed */
        strcpy(fc.role, "root");
        forward_header_value(&fc, hv, sizeof(hv));
        forward_sign("sekrit", "POST", uri, &fc, body, strlen(body), sig);
        CHECK(forward_verify("sekrit", "POST", uri, hv, sig, body, strlen(body), ts, &back, &role,
                             why, sizeof(why)) < 0);
    }
    return check_done();
}
