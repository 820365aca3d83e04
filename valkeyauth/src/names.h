/*
 * What a login name may be, and how it enters a DN or a search filter. Pure functions: no server,
 * no directory; each result is allocated with malloc and freed by the caller.
 */
#ifndef VALKEYAUTH_NAMES_H
#define VALKEYAUTH_NAMES_H

#include <stddef.h>

/* The longest login name accepted, in bytes. */
#define LOGIN_NAME_MAX_BYTES 256

/*
 * Why `name` (of `len` bytes) cannot be a person's login name, or NULL when it can. As PostgreSQL's
 * LDAP login does, refused before any directory operation: an empty name, a NUL byte, and the
 * characters that change a filter or a DN's meaning (* ( ) \ /); also whitespace, control bytes and
 * names longer than LOGIN_NAME_MAX_BYTES, which no directory's login name needs.
 */
const char *login_name_refusal(const char *name, size_t len);

/* `value` escaped for an attribute value of a DN (RFC 4514). */
char *dn_escape_value(const char *value);

/* `value` escaped for an assertion value of a search filter (RFC 4515). */
char *filter_escape_value(const char *value);

/* prefix + the name escaped as a DN value + suffix: the bind DN of bind mode. */
char *bind_dn_for(const char *prefix, const char *name, const char *suffix);

/* `filter` with every "$username" replaced by the name escaped for a filter: search+bind's filter. */
char *search_filter_for(const char *filter, const char *name);

#endif
