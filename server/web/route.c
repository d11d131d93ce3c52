/* route.c — route matching (see route.h). */
#include "web/route.h"

#include <string.h>
#include "core/banned.h" /* last: after every system header */

/* Returns 1 when path matches pattern, filling params. */
static int match_path(const char *pattern, const char *path, char params[][256], int *np)
{
    const char *p = pattern, *s = path;

    *np = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            size_t sl = strcspn(s, "/");
            if (!pe || sl == 0 || sl >= 256 || *np >= HREQ_MAX_PARAMS) return 0;
            memcpy(params[*np], s, sl);
            params[*np][sl] = '\0';
            (*np)++;
            p = pe + 1;
            s += sl;
            continue;
        }
        if (*p != *s) return 0;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

int route_match(const route *table, size_t n, const char *method, const char *path,
                const route **out, char params[][256], int *nparams, char *allow, size_t allowsz)
{
    size_t i, al = 0;
    int path_found = 0;
    char tmp[HREQ_MAX_PARAMS][256];
    int tn;

    if (allowsz) allow[0] = '\0';
    for (i = 0; i < n; i++) {
        if (!match_path(table[i].pattern, path, tmp, &tn)) continue;
        if (!strcmp(table[i].method, method)) {
            memcpy(params, tmp, sizeof(tmp));
            *nparams = tn;
            *out = &table[i];
            return ROUTE_FOUND;
        }
        path_found = 1;
        if (!strstr(allow, table[i].method) && al + strlen(table[i].method) + 3 < allowsz) {
            if (al) {
                memcpy(allow + al, ", ", 2);
                al += 2;
            }
            memcpy(allow + al, table[i].method, strlen(table[i].method) + 1);
            al += strlen(table[i].method);
        }
    }
    return path_found ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}
