/* auth.c — token checks (see auth.h). */
#include "web/auth.h"

#include <string.h>
#include <strings.h>

#include "core/roles.h"
#include "core/banned.h" /* last: after every system header */

int auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char diff = (unsigned char)(alen != blen);
    size_t i;
    /* Walk b (the secret) whole; read a only within its length. */
    for (i = 0; i < blen; i++)
        diff |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
    return diff == 0;
}

int auth_role(const config *c, const char *header, char *name, size_t namesz)
{
    const char *tok;
    size_t tl;
    int i, role = ROLE_NONE, found = -1;

    if (!header || strncasecmp(header, "Bearer ", 7)) return ROLE_NONE;
    tok = header + 7;
    while (*tok == ' ')
        tok++;
    tl = strlen(tok);
    while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\r'))
        tl--;
    if (tl == 0) return ROLE_NONE;
    for (i = 0; i < c->ntokens; i++) {
        int eq = auth_equal(tok, tl, c->tokens[i].secret, strlen(c->tokens[i].secret));
        if (eq && found < 0) found = i;
    }
    if (found >= 0) {
        role = c->tokens[found].role;
        hp_strlcpy(name, c->tokens[found].name, namesz);
    }
    return role;
}
