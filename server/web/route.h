/* route.h — matching a method and a path against the const route table.
 * Patterns are literal segments and {name} segments ("/api/v1/clusters/{name}");
 * a {name} segment matches one non-empty segment and is handed to the handler.
 * Pure: unit-tested without a server. */
#ifndef HP_ROUTE_H
#define HP_ROUTE_H

#include <stddef.h>

#define HREQ_MAX_PARAMS 3 /* {name} segments in one pattern */

struct hreq;
/* A route's handler: reads the request, sends one response, returns its
 * status (see web/http.h). */
typedef int http_handler(struct hreq *r);

typedef struct route {
    const char *method; /* "GET", "POST", "DELETE" */
    const char *pattern;
    http_handler *fn;
    int role;            /* ROLE_NONE (open), ROLE_VIEWER, ROLE_OPERATOR */
    const char *summary; /* one line for --routes and the docs check */
} route;

enum { ROUTE_FOUND = 0, ROUTE_NOT_FOUND = -1, ROUTE_BAD_METHOD = -2 };

/* Finds the route for method and path. On ROUTE_FOUND sets *out and fills
 * params (each at most HREQ_MAX_PARAMS entries of 256 bytes, *nparams set).
 * On ROUTE_BAD_METHOD writes the allowed methods ("GET, POST") into allow. */
int route_match(const route *table, size_t n, const char *method, const char *path,
                const route **out, char params[][256], int *nparams, char *allow, size_t allowsz);

#endif
