/* auth.h — credentials: which configured token an Authorization header
 * carries, which configured user a name and password are, and the stored
 * forms of both. A secret is stored in plain text (tokens only, warned about
 * at start), as "$sha256$SALT$HASH" (SHA-256 of the salt's bytes and the
 * secret: for tokens, random and long, so one hash is enough and a request
 * costs microseconds), or as "$pbkdf2-sha256$ITER$SALT$HASH" (PBKDF2-HMAC-
 * SHA-256: for passwords, which people choose; a login costs ITER rounds).
 * SALT and HASH are lower-case hex. Every configured token is checked on
 * every request, in time that depends on the configuration only, never on
 * how much of a guess was right. Secrets are never logged or returned. */
#ifndef HP_AUTH_H
#define HP_AUTH_H

#include <stddef.h>
#include "core/config.h"

#define AUTH_PBKDF2_ITER 210000 /* OWASP's figure for PBKDF2-HMAC-SHA-256 (2023) */
#define AUTH_HASH_MAX 160       /* the longest stored form, its NUL included */

/* Returns the role of the token in header ("Bearer <token>"), or ROLE_NONE
 * when the header is missing, malformed or the token unknown. On success
 * copies the token's name into name. */
int auth_role(const config *c, const char *header, char *name, size_t namesz);

/* The role of user name with password pw, or ROLE_NONE. An unknown name
 * costs the same hash as a known one. */
int auth_user(const config *c, const char *name, const char *pw, size_t pwlen);

/* Does the secret s (slen bytes) match stored (any of the three forms)? */
int auth_check(const char *stored, const char *s, size_t slen);

/* The stored form of secret: $sha256$ when iter is 0, else $pbkdf2-sha256$
 * with iter rounds; a fresh 16-byte salt. Returns 0, or -1 (no randomness). */
int auth_hash(const char *secret, size_t len, int iter, char out[AUTH_HASH_MAX]);

/* Constant-time comparison of a (alen bytes) with b (blen bytes): 1 if equal. */
int auth_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
