/*
 * What the module's files share: its settings (module configs, fixed once Valkey has started),
 * the directory settings built from them, the roles, and the counters AUTH.STATUS reports.
 */
#ifndef VALKEYAUTH_MODULE_H
#define VALKEYAUTH_MODULE_H

#include <stdatomic.h>
#include <stddef.h>

#include "cache.h"
#include "directory.h"
#include "valkey_api.h"

#define MAX_ROLES 8

struct role {
    char *group; /* normalized DN */
    const char *acl;
};

/* Why a login was refused: ACL LOG and AUTH.STATUS name these. */
enum refusal {
    REFUSED_BAD_NAME,
    REFUSED_EMPTY_PASSWORD,
    REFUSED_WRONG_PASSWORD,
    REFUSED_NOT_FOUND,
    REFUSED_AMBIGUOUS,
    REFUSED_NO_ROLE,
    REFUSED_DIRECTORY_DOWN,
    REFUSED_DIRECTORY_ERROR,
    REFUSED_IN_TRANSACTION,
    REFUSAL_KINDS
};

extern const char *const REFUSAL_NAMES[REFUSAL_KINDS];

struct module_state {
    struct directory_config directory;
    struct role roles[MAX_ROLES];
    size_t role_count;
    const char *stack_users; /* space-separated names the module never handles */
    long long cache_ttl_seconds;
    struct login_cache *cache;
    atomic_int server_down[DIRECTORY_MAX_SERVERS];
    atomic_ullong allowed, refused[REFUSAL_KINDS], directory_checks, directory_ms;
};

extern struct module_state STATE;

/* The search account's password as read from its file (empty in bind mode); copy under read_search_password's lock. */
void copy_search_password(char *out, size_t size);
/* Reads the search account's password file again: NULL, or why it cannot. */
const char *read_search_password(void);

/* Starts the directory threads and registers the auth callback: VM_OK or VM_ERR. */
int login_start(ValkeyModuleCtx *ctx, long long threads);

#endif
