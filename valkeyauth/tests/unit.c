/*
 * The module's pure parts without a server or a directory: which login names are refused, how a
 * name enters a DN and a filter, and the login cache. Built with AddressSanitizer and UBSan
 * (make check); prints one line per failed check and exits 1 if any failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "directory.h"
#include "names.h"

static int failures;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            failures++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
        }                                                  \
    } while (0)

static void expect_string(char *got, const char *want, const char *what) {
    CHECK(got != NULL && strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", what, got ? got : "(null)", want);
    free(got);
}

static void names(void) {
    CHECK(login_name_refusal("alice", 5) == NULL, "alice is a login name");
    CHECK(login_name_refusal("o.brien-2", 9) == NULL, "dots, dashes and digits are allowed");
    const char *refused[] = {"*", "al*ce", "a(b", "a)b", "a\\b", "a/b", "a b", "a\tb", "a\x7f"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK(login_name_refusal(refused[i], strlen(refused[i])) != NULL, "\"%s\" must be refused", refused[i]);
    }
    CHECK(login_name_refusal("", 0) != NULL, "the empty name must be refused");
    CHECK(login_name_refusal("ab\0cd", 5) != NULL, "a NUL byte must be refused");
    char longest[LOGIN_NAME_MAX_BYTES + 2];
    memset(longest, 'a', sizeof longest);
    CHECK(login_name_refusal(longest, LOGIN_NAME_MAX_BYTES) == NULL, "a 256-byte name is allowed");
    CHECK(login_name_refusal(longest, LOGIN_NAME_MAX_BYTES + 1) != NULL, "a 257-byte name is refused");

    expect_string(dn_escape_value("alice"), "alice", "plain DN value");
    expect_string(dn_escape_value("a,b+c=d"), "a\\,b\\+c\\=d", "DN specials");
    expect_string(dn_escape_value("#x "), "\\#x\\ ", "leading # and trailing space");
    expect_string(dn_escape_value("\"<;>\\"), "\\\"\\<\\;\\>\\\\", "quote, angles, semicolon, backslash");
    expect_string(filter_escape_value("a*(b)\\"), "a\\2a\\28b\\29\\5c", "filter specials");
    expect_string(bind_dn_for("uid=", "a,b", ",ou=people,dc=example,dc=org"), "uid=a\\,b,ou=people,dc=example,dc=org",
                  "bind DN");
    expect_string(search_filter_for("(&(uid=$username)(|(mail=$username)(cn=x)))", "bo*b"),
                  "(&(uid=bo\\2ab)(|(mail=bo\\2ab)(cn=x)))", "every $username replaced, escaped");
    expect_string(search_filter_for("(objectClass=person)", "bob"), "(objectClass=person)", "no placeholder");
    expect_string(normalized_dn("CN=Auditors, ou=Groups,DC=example,DC=org"), "CN=Auditors,ou=Groups,DC=example,DC=org",
                  "normalized DN (spaces go; case stays, roles compare without it)");
    CHECK(normalized_dn("not a dn") == NULL, "\"not a dn\" is not a DN");
}

static void cache(void) {
    struct login_cache *c = cache_create(2);
    CHECK(c != NULL, "a cache is made");
    if (c == NULL) {
        return;
    }
    time_t now = 1000;
    CHECK(cache_lookup(c, "alice", "pw", 2, now) == -1, "an empty cache misses");
    cache_store(c, "alice", "pw", 2, 1, now + 300);
    CHECK(cache_lookup(c, "alice", "pw", 2, now) == 1, "the same name and password hit, with the role");
    CHECK(cache_lookup(c, "alice", "pW", 2, now) == -1, "another password misses");
    CHECK(cache_lookup(c, "alice", "pw2", 3, now) == -1, "a longer password misses");
    CHECK(cache_lookup(c, "alicf", "pw", 2, now) == -1, "another name misses");
    CHECK(cache_lookup(c, "alice", "pw", 2, now + 300) == -1, "an expired entry misses");
    size_t size;
    unsigned long long hits, misses;
    cache_counts(c, &size, &hits, &misses);
    CHECK(size == 0 && hits == 1 && misses == 5, "expired entries go: size %zu, hits %llu, misses %llu", size, hits, misses);

    cache_store(c, "a", "1", 1, 0, now + 300);
    cache_store(c, "b", "2", 1, 0, now + 300);
    CHECK(cache_lookup(c, "a", "1", 1, now) == 0, "a is kept");
    cache_store(c, "c", "3", 1, 0, now + 300); /* over capacity: b, the least recently used, goes */
    CHECK(cache_lookup(c, "b", "2", 1, now) == -1, "the least recently used entry was evicted");
    CHECK(cache_lookup(c, "a", "1", 1, now) == 0 && cache_lookup(c, "c", "3", 1, now) == 0, "the others stay");
    cache_store(c, "a", "new", 3, 1, now + 300);
    CHECK(cache_lookup(c, "a", "1", 1, now) == -1 && cache_lookup(c, "a", "new", 3, now) == 1, "a new password replaces the old");
    CHECK(cache_forget(c, "a") == 1 && cache_lookup(c, "a", "new", 3, now) == -1, "forgetting a name");
    CHECK(cache_forget(c, "nobody") == 0, "forgetting an unknown name");
    CHECK(cache_forget(c, NULL) == 1, "forgetting all");
    cache_counts(c, &size, &hits, &misses);
    CHECK(size == 0, "empty after forgetting all");

    /* Many names through a small cache: every path frees what it took (AddressSanitizer checks). */
    char name[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "user%d", i);
        cache_store(c, name, name, strlen(name), i % 3, now + (i % 5));
        cache_lookup(c, name, name, strlen(name), now + 2);
    }
    cache_free(c);
}

int main(void) {
    names();
    cache();
    if (failures == 0) {
        printf("valkeyauth unit tests: all passed\n");
    }
    return failures == 0 ? 0 : 1;
}
