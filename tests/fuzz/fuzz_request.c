/* fuzz_request.c — libFuzzer target: the request path before a handler runs.
 * The input is "METHOD PATH\nBODY": the method and path through route_match
 * over the real route table, the body through jsonscan_check (depth, NUL,
 * UTF-8) and, when it passes, through cJSON as the handlers parse it. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsonscan.h"
#include "web/route.h"
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
