/* fuzz_request.c — libFuzzer target: the request path before a handler runs.
 * The input is "METHOD PATH\nBODY": the method and path through route_match
 * over the real route table, the query (after '?') through the history
 * screen's parser (every filter: texts, whole numbers, UTC times, through
 * civetweb's mg_get_var as the handlers read it), the body through
 * jsonscan_check (depth, NUL, UTF-8) and, when it passes, through cJSON as
 * the handlers parse it. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsonscan.h"
#include "web/route.h"
#include "web/ui_internal.h"
#include <civetweb.h>
#include "core/banned.h" /* last: after every system header */

extern const route api_routes[];
extern const size_t api_nroutes;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[4096], method[32], allow[128], err[256];
    char params[HREQ_MAX_PARAMS][256];
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ll = nl ? (size_t)(nl - data) : size;
    const char *sp;
    const route *rt = NULL;
    int np = 0;

    if (ll >= sizeof(line)) ll = sizeof(line) - 1;
    memcpy(line, data, ll);
    line[ll] = '\0';
    sp = strchr(line, ' ');
    if (sp && (size_t)(sp - line) < sizeof(method)) {
        memcpy(method, line, (size_t)(sp - line));
        method[sp - line] = '\0';
        route_match(api_routes, api_nroutes, method, sp + 1, &rt, params, &np, allow,
                    sizeof(allow));
    }
    if (sp && (sp = strchr(sp, '?'))) { /* through a request with only a query */
        struct mg_request_info ri;
        hreq r;
        hist_query h;
        memset(&ri, 0, sizeof(ri));
        memset(&r, 0, sizeof(r));
        ri.query_string = sp + 1;
        r.ri = &ri;
        ui__parse_history_query(&r, &h, err, sizeof(err));
    }
    if (nl) {
        const char *body = (const char *)nl + 1;
        size_t bl = size - ll - 1;
        if (jsonscan_check(body, bl, JSONSCAN_MAX_DEPTH, err, sizeof(err)) == JSONSCAN_OK) {
            cJSON *j = cJSON_ParseWithLength(body, bl);
            cJSON_Delete(j);
        }
    }
    return 0;
}
