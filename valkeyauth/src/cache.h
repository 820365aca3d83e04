/*
 * The cache of successful directory logins: per name, a keyed hash (HMAC-SHA256 under a random key
 * made when the cache is) of the name and the password that succeeded, the role it was given, and
 * when the entry expires. Never the password. Bounded: the least recently used entry goes first.
 * A lookup answers only for the same name and password within the TTL; a wrong password is a miss,
 * never a refusal, so the directory decides it. Safe to use from several threads.
 */
#ifndef VALKEYAUTH_CACHE_H
#define VALKEYAUTH_CACHE_H

#include <stddef.h>
#include <time.h>

struct login_cache;

/* A cache for `capacity` names (at least 1); NULL when memory or randomness is lacking. */
struct login_cache *cache_create(size_t capacity);
void cache_free(struct login_cache *cache);

/* The role stored for `name` when `password` is the one that succeeded and `now` is before expiry; else -1. */
int cache_lookup(struct login_cache *cache, const char *name, const char *password, size_t password_len, time_t now);

/* Remembers that `name` logged in with `password` and was given `role`, until `expires`. */
void cache_store(struct login_cache *cache, const char *name, const char *password, size_t password_len, int role,
                 time_t expires);

/* Forgets `name` (all names when NULL); returns how many entries went. */
size_t cache_forget(struct login_cache *cache, const char *name);

/* Entries held, hits and misses since creation. */
void cache_counts(struct login_cache *cache, size_t *size, unsigned long long *hits, unsigned long long *misses);

#endif
