/* roles.h — who may do what: the role a token or a login carries. The HTTP
 * layer checks it per route; the configuration parses it. Each role may do
 * everything of the ones below it: a viewer reads, an operator also acts
 * (failovers, backups, resyncs, resets, acknowledgements), an admin also
 * reads the audit trail, the settings and the users, and acknowledges an
 * alert in someone else's name. */
#ifndef HP_ROLES_H
#define HP_ROLES_H

enum { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

/* "open", "viewer", "operator", "admin" (role_name is a Redis node's role) */
static inline const char *access_role_name(int role)
{
    static const char *const names[] = {"open", "viewer", "operator", "admin"};
    return role >= ROLE_NONE && role <= ROLE_ADMIN ? names[role] : "?";
}

#endif
