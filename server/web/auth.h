/* auth.h — bearer tokens: which configured token, if any, an Authorization
 * header carries. Every configured token is compared, in time that depends on
 * the configured tokens only, never on how much of a guess was right. Tokens
 * are never logged or returned. Pure: unit-tested. */
#ifndef HP_AUTH_H
#define HP_AUTH_H

#include <stddef.h>
#include "core/config.h"

/* Returns the role of the token in header ("Bearer <token>"), or ROLE_NONE
 * when the header is missing, malformed or the token unknown. On success
 * copies the token's name into name. */
int auth_role(const config *c, const char *header, char *name, size_t namesz);

/* Constant-time comparison of a (alen bytes) with b (blen bytes): 1 if equal. */
int auth_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
