/* auth.c — tokens, users and their stored forms (see auth.h). */
#include "web/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/roles.h"
#include "core/banned.h" /* last: after every system header */

#define SALT_LEN 16
#define HASH_LEN 32

int auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned char diff = (unsigned char)(alen != blen);
    size_t i;
    /* Walk b (the secret) whole; read a only within its length. */
    for (i = 0; i < blen; i++)
        diff |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
    return diff == 0;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(const char *s, size_t sl, unsigned char *out, size_t n)
{
    if (sl != 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = s[2 * i + (size_t)k];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* The hash of secret under salt: SHA-256(salt || secret), or PBKDF2. */
static int derive(const unsigned char *salt, int iter, const char *s, size_t sl,
                  unsigned char out[HASH_LEN])
{
    if (iter > 0)
        return PKCS5_PBKDF2_HMAC(s, (int)sl, salt, SALT_LEN, iter, EVP_sha256(), HASH_LEN, out) == 1
                   ? 0
                   : -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, salt, SALT_LEN) == 1 && EVP_DigestUpdate(md, s, sl) == 1 &&
             EVP_DigestFinal_ex(md, out, &n) == 1 && n == HASH_LEN;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* Splits a stored hash into its salt, rounds (0 for $sha256$) and hash;
 * -1 when stored is plain text or malformed. */
static int parse_stored(const char *stored, unsigned char salt[SALT_LEN], int *iter,
                        unsigned char want[HASH_LEN])
{
    const char *p, *d;
    if (!strncmp(stored, "$sha256$", 8)) {
        *iter = 0;
        p = stored + 8;
    } else if (!strncmp(stored, "$pbkdf2-sha256$", 15)) {
        char *end;
        long n = strtol(stored + 15, &end, 10);
        if (end == stored + 15 || *end != '$' || n < 1 || n > 10000000) return -1;
        *iter = (int)n;
        p = end + 1;
    } else {
        return -1;
    }
    d = strchr(p, '$');
    if (!d || unhex(p, (size_t)(d - p), salt, SALT_LEN) < 0 ||
        unhex(d + 1, strlen(d + 1), want, HASH_LEN) < 0)
        return -1;
    return 0;
}

int auth_check(const char *stored, const char *s, size_t slen)
{
    unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
    int iter;
    if (stored[0] != '$') return auth_equal(s, slen, stored, strlen(stored));
    if (parse_stored(stored, salt, &iter, want) < 0 || derive(salt, iter, s, slen, got) < 0)
        return 0;
    return auth_equal((const char *)got, HASH_LEN, (const char *)want, HASH_LEN);
}

int auth_hash(const char *secret, size_t len, int iter, char out[AUTH_HASH_MAX])
{
    unsigned char salt[SALT_LEN], h[HASH_LEN];
    char sx[2 * SALT_LEN + 1], hx[2 * HASH_LEN + 1];
    if (RAND_bytes(salt, SALT_LEN) != 1 || derive(salt, iter, secret, len, h) < 0) return -1;
    hex(salt, SALT_LEN, sx);
    hex(h, HASH_LEN, hx);
    if (iter > 0)
        snprintf(out, AUTH_HASH_MAX, "$pbkdf2-sha256$%d$%s$%s", iter, sx, hx);
    else
        snprintf(out, AUTH_HASH_MAX, "$sha256$%s$%s", sx, hx);
    return 0;
}

int auth_role(const config *c, const char *header, char *name, size_t namesz)
{
    const char *tok;
    size_t tl;
    int i, found = -1;

    if (!header || strncasecmp(header, "Bearer ", 7)) return ROLE_NONE;
    tok = header + 7;
    while (*tok == ' ')
        tok++;
    tl = strlen(tok);
    while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\r'))
        tl--;
    if (tl == 0) return ROLE_NONE;
    for (i = 0; i < c->ntokens; i++) {
        int eq = auth_check(c->tokens[i].secret, tok, tl);
        if (eq && found < 0) found = i;
    }
    if (found < 0) return ROLE_NONE;
    hp_strlcpy(name, c->tokens[found].name, namesz);
    return c->tokens[found].role;
}

int auth_user(const config *c, const char *name, const char *pw, size_t pwlen)
{
    /* an unknown name is checked against this, so that it takes as long */
    static const char dummy[] = "$pbkdf2-sha256$210000$00000000000000000000000000000000$"
                                "0000000000000000000000000000000000000000000000000000000000000000";
    for (int i = 0; i < c->nusers; i++)
        if (!strcmp(c->users[i].name, name))
            return auth_check(c->users[i].secret, pw, pwlen) ? c->users[i].role : ROLE_NONE;
    auth_check(dummy, pw, pwlen);
    return ROLE_NONE;
}
