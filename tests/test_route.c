/* test_route.c — route matching against the real route table and a small one. */
#include <string.h>

#include "check.h"
#include "web/http.h"
#include "web/route.h"

extern const route api_routes[];
extern const size_t api_nroutes;

static int h(hreq *r)
{
    (void)r;
    return 200;
}

static const route table[] = {
    {"GET", "/a/{x}", h, ROLE_VIEWER, ""},
    {"POST", "/a/{x}/go", h, ROLE_OPERATOR, ""},
    {"DELETE", "/a/{x}", h, ROLE_OPERATOR, ""},
};

int main(void)
{
    const route *rt = NULL;
    char params[HREQ_MAX_PARAMS][256], allow[64];
    int np = 0;
    size_t i, j;

    CHECK(route_match(table, 3, "GET", "/a/b", &rt, params, &np, allow, sizeof(allow)) ==
          ROUTE_FOUND);
    CHECK(rt == &table[0] && np == 1);
    CHECK_STR(params[0], "b");
    CHECK(route_match(table, 3, "POST", "/a/<x>/go", &rt, params, &np, allow, sizeof(allow)) ==
          ROUTE_FOUND);
    CHECK_STR(params[0], "<x>");
    CHECK(route_match(table, 3, "PUT", "/a/b", &rt, params, &np, allow, sizeof(allow)) ==
          ROUTE_BAD_METHOD);
    CHECK_STR(allow, "GET, DELETE");
    CHECK(route_match(table, 3, "GET", "/a/", &rt, params, &np, allow, sizeof(allow)) ==
          ROUTE_NOT_FOUND);
    CHECK(route_match(table, 3, "GET", "/a/b/c", &rt, params, &np, allow, sizeof(allow)) ==
          ROUTE_NOT_FOUND);
    CHECK(route_match(table, 3, "GET", "/a", &rt, params, &np, allow, sizeof(allow)) ==
          ROUTE_NOT_FOUND);

    /* The real table: every pattern unique per method, health open, and every
     * other /api route behind a token. */
    for (i = 0; i < api_nroutes; i++) {
        for (j = i + 1; j < api_nroutes; j++)
            CHECK(!(strcmp(api_routes[i].pattern, api_routes[j].pattern) == 0 &&
                    strcmp(api_routes[i].method, api_routes[j].method) == 0));
        int open_api = !strcmp(api_routes[i].pattern, "/api/v1/health") ||
                       !strcmp(api_routes[i].pattern, "/api/v1/login");
        if (!strncmp(api_routes[i].pattern, "/api/", 5))
            CHECK((api_routes[i].role == ROLE_NONE) == open_api);
        /* what changes something is an operator's, but logging in and out */
        if (strcmp(api_routes[i].method, "GET") && !open_api &&
            strcmp(api_routes[i].pattern, "/api/v1/logout"))
            CHECK(api_routes[i].role >= ROLE_OPERATOR);
        if (!strcmp(api_routes[i].pattern, "/api/v1/audit"))
            CHECK(api_routes[i].role == ROLE_ADMIN);
    }
    CHECK(route_match(api_routes, api_nroutes, "GET", "/api/v1/clusters/mymaster", &rt, params, &np,
                      allow, sizeof(allow)) == ROUTE_FOUND);
    CHECK_STR(params[0], "mymaster");
    CHECK(route_match(api_routes, api_nroutes, "DELETE", "/api/v1/clusters", &rt, params, &np,
                      allow, sizeof(allow)) == ROUTE_BAD_METHOD);
    return check_done();
}
