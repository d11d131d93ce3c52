/* roles.h — who may do what: the role a token or a login carries. The HTTP
 * layer checks it per route; the configuration parses it. */
#ifndef HP_ROLES_H
#define HP_ROLES_H

enum { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2 };

#endif
