#include "directory.h"

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <netdb.h>
#include <openldap.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "names.h"

static void say(struct login_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct login_result *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
}

/* libldap's own words for the last failure on `ld` (a TLS verification error says why here). */
static const char *diagnostic(LDAP *ld, int rc, char *buf, size_t size) {
    char *msg = NULL;
    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
    snprintf(buf, size, "%s%s%s", ldap_err2string(rc), msg != NULL && *msg != '\0' ? ": " : "", msg != NULL ? msg : "");
    ldap_memfree(msg);
    return buf;
}

static struct timeval timeval_of(long ms) {
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/*
 * The watchdog: a directory that accepts a connection and then says nothing (frozen, overloaded)
 * must not hold a directory thread longer than the operation timeout. libldap bounds its connect
 * and its wait for a result, but not a TLS handshake stuck in a read (with GnuTLS, a non-blocking
 * handshake spins instead), so every connection is watched: past its deadline the watchdog shuts
 * the socket down, which ends whatever read or write libldap is in with an error.
 */
#define WATCHED_MAX 128
static struct {
    int fd;
    int fired;
    struct timespec deadline;
} watched[WATCHED_MAX];
static int watched_used[WATCHED_MAX];
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

static int passed(const struct timespec *now, const struct timespec *deadline) {
    return now->tv_sec > deadline->tv_sec || (now->tv_sec == deadline->tv_sec && now->tv_nsec >= deadline->tv_nsec);
}

static void *watchdog(void *unused) {
    (void)unused;
    const struct timespec tick = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    for (;;) {
        nanosleep(&tick, NULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&watch_lock);
        for (int i = 0; i < WATCHED_MAX; i++) {
            if (watched_used[i] && !watched[i].fired && passed(&now, &watched[i].deadline)) {
                shutdown(watched[i].fd, SHUT_RDWR);
                watched[i].fired = 1;
            }
        }
        pthread_mutex_unlock(&watch_lock);
    }
    return NULL;
}

static void start_watchdog(void) {
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&tid, &attr, watchdog, NULL);
    pthread_attr_destroy(&attr);
}

/* Watches `fd` until `ms` from now; the slot, or -1 when every slot is taken (then it is not watched). */
static int watch(int fd, long ms) {
    pthread_once(&watchdog_once, start_watchdog);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&watch_lock);
    int slot = -1;
    for (int i = 0; i < WATCHED_MAX && slot < 0; i++) {
        if (!watched_used[i]) {
            slot = i;
            watched_used[i] = 1;
            watched[i].fd = fd;
            watched[i].fired = 0;
            watched[i].deadline = deadline;
        }
    }
    pthread_mutex_unlock(&watch_lock);
    return slot;
}

/* Stops watching (before the socket is closed, so that its number is never shut down once reused); whether it fired. */
static int unwatch(int slot) {
    if (slot < 0) {
        return 0;
    }
    pthread_mutex_lock(&watch_lock);
    int fired = watched[slot].fired;
    watched_used[slot] = 0;
    pthread_mutex_unlock(&watch_lock);
    return fired;
}

/* A TCP connection to host:port made within `connect_ms`, in blocking mode; the descriptor, or -1 and why. */
static int connect_bounded(const char *host, int port, long connect_ms, char *why, size_t size) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0) {
        snprintf(why, size, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = found; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            snprintf(why, size, "socket: %s", strerror(errno));
            continue;
        }
        int err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        if (err == EINPROGRESS) {
            struct pollfd wait = {.fd = fd, .events = POLLOUT};
            socklen_t len = sizeof err;
            int ready = poll(&wait, 1, (int)connect_ms);
            err = ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : ready == 0 ? ETIMEDOUT : errno;
        }
        if (err != 0) {
            snprintf(why, size, "cannot connect to %s:%d: %s", host, port, strerror(err));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd >= 0) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    return fd;
}

static atomic_ullong connections_opened;

unsigned long long directory_connections_opened(void) {
    return atomic_load(&connections_opened);
}

/* Stops watching the connection and closes it; when the watchdog had fired, the result says so. */
static void close_server(LDAP *ld, int slot, const struct directory_config *cfg, const char *url, struct login_result *out) {
    if (unwatch(slot)) {
        say(out, "%s: no answer within valkeyauth.timeout-ms (%ld ms)", url, cfg->timeout_ms);
    }
    ldap_unbind_ext_s(ld, NULL, NULL);
}

/*
 * A connection to `url` with the TLS the config asks for (the CA file, the host name, TLS 1.2 or
 * later), StartTLS done, watched from its first byte; NULL (and why) when not possible.
 */
static LDAP *open_server(const struct directory_config *cfg, const char *url, struct login_result *out, int *slot) {
    LDAPURLDesc *where = NULL;
    char buf[256];
    if (ldap_url_parse(url, &where) != LDAP_URL_SUCCESS) {
        say(out, "%s is not an LDAP URL", url);
        return NULL;
    }
    int ldaps = strcmp(where->lud_scheme, "ldaps") == 0;
    int port = where->lud_port != 0 ? where->lud_port : ldaps ? 636 : 389;
    int fd = connect_bounded(where->lud_host != NULL ? where->lud_host : "localhost", port, cfg->connect_timeout_ms, buf,
                             sizeof buf);
    ldap_free_urldesc(where);
    if (fd < 0) {
        say(out, "%s: %s", url, buf);
        return NULL;
    }
    LDAP *ld = NULL;
    *slot = watch(fd, cfg->timeout_ms);
    int rc = ldap_init_fd(fd, LDAP_PROTO_TCP, url, &ld);
    if (rc != LDAP_SUCCESS) {
        unwatch(*slot);
        close(fd);
        say(out, "%s: %s", url, ldap_err2string(rc));
        return NULL;
    }
    int version = LDAP_VERSION3, hard = LDAP_OPT_X_TLS_HARD, tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, newctx = 0;
    struct timeval op = timeval_of(cfg->timeout_ms);
    int failed = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
                 ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
                 ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op) != LDAP_OPT_SUCCESS ||
                 ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &hard) != LDAP_OPT_SUCCESS ||
                 ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) != LDAP_OPT_SUCCESS ||
                 ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file) != LDAP_OPT_SUCCESS ||
                 (cfg->cert_file != NULL && *cfg->cert_file != '\0' &&
                  (ldap_set_option(ld, LDAP_OPT_X_TLS_CERTFILE, cfg->cert_file) != LDAP_OPT_SUCCESS ||
                   ldap_set_option(ld, LDAP_OPT_X_TLS_KEYFILE, cfg->key_file) != LDAP_OPT_SUCCESS)) ||
                 ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx) != LDAP_OPT_SUCCESS;
    if (failed) {
        say(out, "%s: the TLS settings were refused (CA file %s)", url, cfg->ca_file);
        close_server(ld, *slot, cfg, url, out);
        return NULL;
    }
    /* ldaps: TLS on the connection now; ldap:// (only ever with StartTLS): StartTLS before any bind. */
    rc = ldaps ? ldap_install_tls(ld) : ldap_start_tls_s(ld, NULL, NULL);
    if (rc != LDAP_SUCCESS) {
        say(out, "%s: %s failed: %s", url, ldaps ? "the TLS handshake" : "StartTLS", diagnostic(ld, rc, buf, sizeof buf));
        close_server(ld, *slot, cfg, url, out);
        return NULL;
    }
    return ld;
}

/* The failure of a connection or of trust in it, as opposed to an answer. */
static int unreachable(int rc) {
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED;
}

static int simple_bind(LDAP *ld, const char *dn, const char *password, size_t password_len) {
    struct berval cred = {.bv_len = password_len, .bv_val = (char *)password};
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

char *normalized_dn(const char *dn) {
    char *norm = NULL;
    if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &norm, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || norm == NULL) {
        return NULL;
    }
    char *copy = strdup(norm);
    ldap_memfree(norm);
    return copy;
}

/* search+bind's search: the one entry the filter finds under the base, as the search account. */
static int find_entry(LDAP *ld, const struct directory_config *cfg, const char *search_password, const char *name,
                      struct login_result *out, const char *url) {
    char buf[256];
    int rc = simple_bind(ld, cfg->search_bind_dn, search_password, strlen(search_password));
    if (rc != LDAP_SUCCESS) {
        say(out, "%s: the search account %s could not bind: %s", url, cfg->search_bind_dn, diagnostic(ld, rc, buf, sizeof buf));
        return rc;
    }
    char *filter = search_filter_for(cfg->search_filter, name);
    if (filter == NULL) {
        say(out, "out of memory");
        return LDAP_NO_MEMORY;
    }
    char *attrs[] = {LDAP_NO_ATTRS, NULL};
    struct timeval op = timeval_of(cfg->timeout_ms);
    LDAPMessage *res = NULL;
    rc = ldap_search_ext_s(ld, cfg->search_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &op, 2, &res);
    free(filter);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        say(out, "%s: the search under %s failed: %s", url, cfg->search_base, diagnostic(ld, rc, buf, sizeof buf));
        ldap_msgfree(res);
        return rc;
    }
    int count = ldap_count_entries(ld, res);
    if (count != 1 || rc == LDAP_SIZELIMIT_EXCEEDED) {
        out->outcome = count == 0 ? LOGIN_NOT_FOUND : LOGIN_AMBIGUOUS;
        say(out, count == 0 ? "no entry under %s matches the search filter" : "more than one entry under %s matches the search filter",
            cfg->search_base);
        ldap_msgfree(res);
        return LDAP_SUCCESS;
    }
    char *dn = ldap_get_dn(ld, ldap_first_entry(ld, res));
    out->dn = dn != NULL ? strdup(dn) : NULL;
    ldap_memfree(dn);
    ldap_msgfree(res);
    return LDAP_SUCCESS;
}

/* The values of the group attribute on the person's own entry, read as the person. */
static int read_groups(LDAP *ld, const struct directory_config *cfg, struct login_result *out, const char *url) {
    char buf[256];
    char *attrs[] = {(char *)cfg->group_attribute, NULL};
    struct timeval op = timeval_of(cfg->timeout_ms);
    LDAPMessage *res = NULL;
    int rc = ldap_search_ext_s(ld, out->dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &op, 1, &res);
    if (rc != LDAP_SUCCESS) {
        say(out, "%s: reading %s of %s failed: %s", url, cfg->group_attribute, out->dn, diagnostic(ld, rc, buf, sizeof buf));
        ldap_msgfree(res);
        return rc;
    }
    LDAPMessage *entry = ldap_first_entry(ld, res);
    struct berval **values = entry != NULL ? ldap_get_values_len(ld, entry, cfg->group_attribute) : NULL;
    int count = ldap_count_values_len(values);
    out->groups = calloc((size_t)(count > 0 ? count : 1), sizeof *out->groups);
    for (int i = 0; out->groups != NULL && i < count; i++) {
        char *value = strndup(values[i]->bv_val, values[i]->bv_len);
        char *norm = value != NULL ? normalized_dn(value) : NULL;
        free(value);
        if (norm != NULL) {
            out->groups[out->group_count++] = norm;
        }
    }
    ldap_value_free_len(values);
    ldap_msgfree(res);
    return LDAP_SUCCESS;
}

/* Forgets what an earlier attempt found (another connection, another server). */
static void forget_found(struct login_result *out) {
    free(out->dn);
    out->dn = NULL;
    for (size_t g = 0; g < out->group_count; g++) {
        free(out->groups[g]);
    }
    free(out->groups);
    out->groups = NULL;
    out->group_count = 0;
}

/*
 * One login on an open connection: its LDAP result code, and *decided set when the server's answer
 * decides the login (let in, wrong password, no such entry, more than one, another refusal) rather
 * than the connection failing. Every login starts with a bind, so a connection left bound as the
 * previous person carries nothing over.
 */
static int login_on(LDAP *ld, const struct directory_config *cfg, const char *search_password, const char *name,
                    const char *password, size_t password_len, struct login_result *out, const char *url, int *decided) {
    char buf[256];
    int rc;
    forget_found(out);
    *decided = 0;
    if (cfg->search_mode) {
        rc = find_entry(ld, cfg, search_password, name, out, url);
        if (rc == LDAP_SUCCESS && out->dn == NULL) { /* not found or ambiguous: an answer */
            *decided = 1;
            return rc;
        }
    } else {
        out->dn = bind_dn_for(cfg->bind_dn_prefix, name, cfg->bind_dn_suffix);
        rc = out->dn != NULL ? LDAP_SUCCESS : LDAP_NO_MEMORY;
    }
    if (rc == LDAP_SUCCESS) {
        rc = simple_bind(ld, out->dn, password, password_len);
        if (rc == LDAP_INVALID_CREDENTIALS) {
            out->outcome = LOGIN_WRONG_PASSWORD;
            say(out, "%s refused the bind as %s: %s", url, out->dn, diagnostic(ld, rc, buf, sizeof buf));
            *decided = 1;
            return rc;
        }
        if (rc != LDAP_SUCCESS) {
            say(out, "%s: the bind as %s failed: %s", url, out->dn, diagnostic(ld, rc, buf, sizeof buf));
        }
    }
    if (rc == LDAP_SUCCESS) {
        rc = read_groups(ld, cfg, out, url);
    }
    if (rc == LDAP_SUCCESS) {
        out->outcome = LOGIN_OK;
        *decided = 1;
    } else if (!unreachable(rc)) {
        out->outcome = LOGIN_DIRECTORY_ERROR;
        *decided = 1;
    }
    return rc;
}

void directory_login(const struct directory_config *cfg, const char *search_password, const char *name,
                     const char *password, size_t password_len, const int *skip, struct directory_pool *pool,
                     struct login_result *out) {
    memset(out, 0, sizeof *out);
    out->outcome = LOGIN_DIRECTORY_DOWN;
    out->server = -1;
    /* Servers not known down first, in their order; then the known-down ones, in case they are back. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < cfg->server_count; i++) {
            if ((skip != NULL && skip[i]) != (pass == 1)) {
                continue;
            }
            const char *url = cfg->servers[i];
            /* The pooled connection first; if it fails (the server may have closed it while idle), once more on a new one. */
            for (int attempt = 0; attempt < 2; attempt++) {
                LDAP *ld = pool != NULL ? pool->connections[i] : NULL;
                int pooled = ld != NULL, slot = -1, fd = -1;
                if (pooled) {
                    pool->connections[i] = NULL;
                    ldap_get_option(ld, LDAP_OPT_DESC, &fd);
                    slot = watch(fd, cfg->timeout_ms);
                } else if ((ld = open_server(cfg, url, out, &slot)) == NULL) {
                    break;
                } else {
                    atomic_fetch_add(&connections_opened, 1); /* a login's connection; probes are not counted */
                }
                int decided;
                int rc = login_on(ld, cfg, search_password, name, password, password_len, out, url, &decided);
                int fired = unwatch(slot);
                if (pool != NULL && !unreachable(rc) && !fired) {
                    pool->connections[i] = ld; /* answered in time: kept for the next login */
                } else {
                    if (fired) {
                        say(out, "%s: no answer within valkeyauth.timeout-ms (%ld ms)", url, cfg->timeout_ms);
                    }
                    ldap_unbind_ext_s(ld, NULL, NULL);
                }
                if (decided) {
                    out->server = (int)i;
                    return;
                }
                /* A new connection that failed, or any that did not answer in time: the server is unreachable now. */
                if (!pooled || fired) {
                    break;
                }
            }
            out->unreachable[i] = 1;
        }
    }
}

int directory_probe(const struct directory_config *cfg, size_t index, char *why, size_t size) {
    struct login_result probe;
    memset(&probe, 0, sizeof probe);
    int slot = -1;
    LDAP *ld = open_server(cfg, cfg->servers[index], &probe, &slot);
    if (ld != NULL) {
        close_server(ld, slot, cfg, cfg->servers[index], &probe);
    }
    snprintf(why, size, "%s", probe.why);
    return ld != NULL;
}

void login_result_clear(struct login_result *result) {
    free(result->dn);
    for (size_t i = 0; i < result->group_count; i++) {
        free(result->groups[i]);
    }
    free(result->groups);
    memset(result, 0, sizeof *result);
}
