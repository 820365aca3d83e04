/*
 * The directory client: checks a person's name and password against an LDAP directory over TLS
 * (ldaps:// or StartTLS, the server's certificate verified against a CA file and its host name,
 * TLS 1.2 or later) and reads the groups the person's entry names. Blocking; the module calls it
 * on its own threads, never on Valkey's. Each call opens its own connection.
 */
#ifndef VALKEYAUTH_DIRECTORY_H
#define VALKEYAUTH_DIRECTORY_H

#include <stddef.h>

#define DIRECTORY_MAX_SERVERS 8

struct directory_config {
    const char *servers[DIRECTORY_MAX_SERVERS];
    size_t server_count;
    int starttls;
    int search_mode; /* 0: bind (DN = prefix + name + suffix); 1: search+bind */
    const char *bind_dn_prefix, *bind_dn_suffix;
    const char *search_base, *search_filter, *search_bind_dn;
    const char *ca_file, *cert_file, *key_file;
    const char *group_attribute;
    long connect_timeout_ms, timeout_ms;
};

enum login_outcome {
    LOGIN_OK,
    LOGIN_WRONG_PASSWORD,  /* the directory refused the bind */
    LOGIN_NOT_FOUND,       /* search+bind: no entry for the name */
    LOGIN_AMBIGUOUS,       /* search+bind: more than one entry */
    LOGIN_DIRECTORY_DOWN,  /* no server answered in time, or none could be trusted */
    LOGIN_DIRECTORY_ERROR, /* a server answered something else (the search account refused, ...) */
};

struct login_result {
    enum login_outcome outcome;
    char *dn;       /* the person's entry, when found */
    char **groups;  /* the normalized DNs of the group attribute's values */
    size_t group_count;
    char why[384];  /* for the server log: what failed, never the password */
    int server;     /* the server that answered, or -1 */
    int unreachable[DIRECTORY_MAX_SERVERS]; /* the servers tried that could not be reached or trusted */
};

/* A thread's own open connections, one per server, kept between logins (each login binds anew). */
struct directory_pool {
    void *connections[DIRECTORY_MAX_SERVERS]; /* LDAP * */
};

/*
 * Checks `name` and `password` (non-empty, already screened) against the servers in order, skipping
 * to the next when one cannot be reached or trusted. `search_password` is the search account's
 * (search+bind only). `skip` may mark servers to try last (known down). With `pool`, a connection
 * that answered is kept for the next login and a kept one is used first.
 */
void directory_login(const struct directory_config *cfg, const char *search_password, const char *name,
                     const char *password, size_t password_len, const int *skip, struct directory_pool *pool,
                     struct login_result *out);

/* Directory connections opened (TLS established) since the process started. */
unsigned long long directory_connections_opened(void);


/* Whether server `index` can be reached and trusted now (a TLS connection, no bind): 1, or 0 and why. */
int directory_probe(const struct directory_config *cfg, size_t index, char *why, size_t size);

/* Frees what a result holds. */
void login_result_clear(struct login_result *result);

/* `dn` normalized for comparison (RFC 4514 form, as libldap writes it); malloc'd, NULL when not a DN. */
char *normalized_dn(const char *dn);

#endif
