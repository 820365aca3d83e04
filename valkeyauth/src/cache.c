#include "cache.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST_BYTES 32
#define KEY_BYTES 32

struct entry {
    char *name;
    unsigned char digest[DIGEST_BYTES];
    int role;
    time_t expires;
    struct entry *next_in_bucket;
    struct entry *newer, *older;
};

struct login_cache {
    pthread_mutex_t lock;
    unsigned char key[KEY_BYTES];
    size_t capacity, size, buckets;
    struct entry **table;
    struct entry *newest, *oldest;
    unsigned long long hits, misses;
};

/* FNV-1a: which bucket a name is in (entries come only from successful logins, so no one floods it). */
static size_t bucket_of(const struct login_cache *cache, const char *name) {
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    return (size_t)(h % cache->buckets);
}

/* HMAC-SHA256 of name, a NUL, and the password: 0 when done. */
static int digest_of(const struct login_cache *cache, const char *name, const char *password, size_t password_len,
                     unsigned char out[DIGEST_BYTES]) {
    gnutls_hmac_hd_t h;
    if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, cache->key, KEY_BYTES) < 0) {
        return -1;
    }
    int failed = gnutls_hmac(h, name, strlen(name) + 1) < 0 || gnutls_hmac(h, password, password_len) < 0;
    gnutls_hmac_deinit(h, out);
    return failed ? -1 : 0;
}

/* Compares in a time that does not depend on where the digests differ. */
static int same_digest(const unsigned char *a, const unsigned char *b) {
    unsigned char diff = 0;
    for (size_t i = 0; i < DIGEST_BYTES; i++) {
        diff |= (unsigned char)(a[i] ^ b[i]);
    }
    return diff == 0;
}

struct login_cache *cache_create(size_t capacity) {
    struct login_cache *cache = calloc(1, sizeof *cache);
    if (cache == NULL) {
        return NULL;
    }
    cache->capacity = capacity == 0 ? 1 : capacity;
    cache->buckets = cache->capacity * 2 + 1;
    cache->table = calloc(cache->buckets, sizeof *cache->table);
    if (cache->table == NULL || gnutls_rnd(GNUTLS_RND_KEY, cache->key, KEY_BYTES) < 0) {
        free(cache->table);
        free(cache);
        return NULL;
    }
    pthread_mutex_init(&cache->lock, NULL);
    return cache;
}

static struct entry *find(struct login_cache *cache, const char *name, struct entry ***link) {
    struct entry **at = &cache->table[bucket_of(cache, name)];
    for (; *at != NULL; at = &(*at)->next_in_bucket) {
        if (strcmp((*at)->name, name) == 0) {
            break;
        }
    }
    if (link != NULL) {
        *link = at;
    }
    return *at;
}

static void unlink_age(struct login_cache *cache, struct entry *e) {
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        cache->newest = e->older;
    }
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        cache->oldest = e->newer;
    }
    e->newer = e->older = NULL;
}

static void make_newest(struct login_cache *cache, struct entry *e) {
    e->older = cache->newest;
    e->newer = NULL;
    if (cache->newest != NULL) {
        cache->newest->newer = e;
    }
    cache->newest = e;
    if (cache->oldest == NULL) {
        cache->oldest = e;
    }
}

static void drop(struct login_cache *cache, struct entry *e) {
    struct entry **link;
    find(cache, e->name, &link);
    *link = e->next_in_bucket;
    unlink_age(cache, e);
    free(e->name);
    explicit_bzero(e->digest, DIGEST_BYTES);
    free(e);
    cache->size--;
}

int cache_lookup(struct login_cache *cache, const char *name, const char *password, size_t password_len, time_t now) {
    unsigned char digest[DIGEST_BYTES];
    int role = -1;
    if (digest_of(cache, name, password, password_len, digest) != 0) {
        return -1;
    }
    pthread_mutex_lock(&cache->lock);
    struct entry *e = find(cache, name, NULL);
    if (e != NULL && now >= e->expires) {
        drop(cache, e);
        e = NULL;
    }
    if (e != NULL && same_digest(e->digest, digest)) {
        role = e->role;
        unlink_age(cache, e);
        make_newest(cache, e);
        cache->hits++;
    } else {
        cache->misses++;
    }
    pthread_mutex_unlock(&cache->lock);
    explicit_bzero(digest, sizeof digest);
    return role;
}

void cache_store(struct login_cache *cache, const char *name, const char *password, size_t password_len, int role,
                 time_t expires) {
    unsigned char digest[DIGEST_BYTES];
    if (digest_of(cache, name, password, password_len, digest) != 0) {
        return;
    }
    pthread_mutex_lock(&cache->lock);
    struct entry **link;
    struct entry *e = find(cache, name, &link);
    if (e == NULL) {
        char *copy = strdup(name);
        e = copy == NULL ? NULL : calloc(1, sizeof *e);
        if (e == NULL) {
            free(copy);
            goto done;
        }
        e->name = copy;
        *link = e;
        cache->size++;
    } else {
        unlink_age(cache, e);
    }
    memcpy(e->digest, digest, DIGEST_BYTES);
    e->role = role;
    e->expires = expires;
    make_newest(cache, e);
    while (cache->size > cache->capacity) {
        drop(cache, cache->oldest);
    }
done:
    pthread_mutex_unlock(&cache->lock);
    explicit_bzero(digest, sizeof digest);
}

size_t cache_forget(struct login_cache *cache, const char *name) {
    size_t gone = 0;
    pthread_mutex_lock(&cache->lock);
    if (name != NULL) {
        struct entry *e = find(cache, name, NULL);
        if (e != NULL) {
            drop(cache, e);
            gone = 1;
        }
    } else {
        while (cache->oldest != NULL) {
            drop(cache, cache->oldest);
            gone++;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return gone;
}

void cache_counts(struct login_cache *cache, size_t *size, unsigned long long *hits, unsigned long long *misses) {
    pthread_mutex_lock(&cache->lock);
    *size = cache->size;
    *hits = cache->hits;
    *misses = cache->misses;
    pthread_mutex_unlock(&cache->lock);
}

void cache_free(struct login_cache *cache) {
    if (cache == NULL) {
        return;
    }
    cache_forget(cache, NULL);
    pthread_mutex_destroy(&cache->lock);
    explicit_bzero(cache->key, KEY_BYTES);
    free(cache->table);
    free(cache);
}
