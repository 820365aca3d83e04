/*
 * A person's AUTH: screened and answered from the cache on Valkey's main thread, or blocked while
 * one of the module's directory threads checks it, then answered on the main thread again. The
 * names of the stack's own users are passed on untouched, so the directory never sees them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "module.h"
#include "names.h"

const char *const REFUSAL_NAMES[REFUSAL_KINDS] = {
    [REFUSED_BAD_NAME] = "bad-name",
    [REFUSED_EMPTY_PASSWORD] = "empty-password",
    [REFUSED_WRONG_PASSWORD] = "wrong-password",
    [REFUSED_NOT_FOUND] = "not-found",
    [REFUSED_AMBIGUOUS] = "ambiguous",
    [REFUSED_NO_ROLE] = "no-role",
    [REFUSED_DIRECTORY_DOWN] = "directory-down",
    [REFUSED_DIRECTORY_ERROR] = "directory-error",
    [REFUSED_IN_TRANSACTION] = "in-transaction",
};

/* What every refused client reads: the reason goes to the server log and ACL LOG, not to the client. */
static const char REFUSED_MESSAGE[] = "directory login failed";

struct job {
    ValkeyModuleBlockedClient *bc;
    char *name;
    char *password;
    size_t password_len;
    int skip[DIRECTORY_MAX_SERVERS];
    struct login_result result;
    long long elapsed_ms;
    struct job *next;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static struct job *queue_head, *queue_tail;

/* A person's module user, kept for the module's life and given the rules of their current role. */
struct person {
    char *name;
    ValkeyModuleUser *user;
    int role;
};
static struct person *people;
static size_t people_count, people_capacity;

static int is_stack_user(const char *name, size_t len) {
    for (const char *p = STATE.stack_users; *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n == len && memcmp(p, name, len) == 0) {
            return 1;
        }
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

/* `name` with anything but printable ASCII shown as '?', for a log line. */
static void printable(const char *name, size_t len, char *out, size_t size) {
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        out[i] = c > ' ' && c < 0x7f ? (char)c : '?';
    }
    out[n] = '\0';
}

static int refuse(ValkeyModuleCtx *ctx, ValkeyModuleString *username, ValkeyModuleString **err, enum refusal why,
                  const char *detail) {
    size_t len;
    const char *name = VM.StringPtrLen(username, &len);
    char shown[LOGIN_NAME_MAX_BYTES + 1];
    printable(name, len, shown, sizeof shown);
    atomic_fetch_add(&STATE.refused[why], 1);
    VM.Log(ctx, "warning", "valkeyauth: login of %s refused (%s): %s", shown, REFUSAL_NAMES[why], detail);
    ValkeyModuleString *object = VM.CreateStringPrintf(ctx, "directory-login:%s", REFUSAL_NAMES[why]);
    VM.ACLAddLogEntryByUserName(ctx, username, object, VM_ACL_LOG_AUTH);
    VM.FreeString(ctx, object);
    *err = VM.CreateString(ctx, REFUSED_MESSAGE, sizeof REFUSED_MESSAGE - 1);
    return VM_AUTH_HANDLED;
}

/* The module user for `name`, created on first use; its rules set to `role`'s when they differ. */
static ValkeyModuleUser *person_user(const char *name, int role) {
    struct person *p = NULL;
    for (size_t i = 0; i < people_count; i++) {
        if (strcmp(people[i].name, name) == 0) {
            p = &people[i];
            break;
        }
    }
    if (p == NULL) {
        if (people_count == people_capacity) {
            size_t capacity = people_capacity == 0 ? 16 : people_capacity * 2;
            struct person *grown = realloc(people, capacity * sizeof *people);
            if (grown == NULL) {
                return NULL;
            }
            people = grown;
            people_capacity = capacity;
        }
        char *copy = strdup(name);
        ValkeyModuleUser *user = copy != NULL ? VM.CreateModuleUser(name) : NULL;
        if (user == NULL) {
            free(copy);
            return NULL;
        }
        p = &people[people_count++];
        *p = (struct person){.name = copy, .user = user, .role = -1};
    }
    if (p->role != role) {
        /* The role's rules, one ACL operation at a time, from a clean user. */
        VM.SetModuleUserACL(p->user, "reset");
        char *rules = strdup(STATE.roles[role].acl);
        if (rules == NULL) {
            return NULL;
        }
        char *save = NULL;
        for (char *op = strtok_r(rules, " ", &save); op != NULL; op = strtok_r(NULL, " ", &save)) {
            VM.SetModuleUserACL(p->user, op);
        }
        free(rules);
        VM.SetModuleUserACL(p->user, "on");
        p->role = role;
    }
    return p->user;
}

static int admit(ValkeyModuleCtx *ctx, ValkeyModuleString *username, ValkeyModuleString **err, int role) {
    const char *name = VM.StringPtrLen(username, NULL);
    ValkeyModuleUser *user = person_user(name, role);
    if (user == NULL || VM.AuthenticateClientWithUser(ctx, user, NULL, NULL, NULL) != VM_OK) {
        return refuse(ctx, username, err, REFUSED_DIRECTORY_ERROR, "the person's module user could not be made");
    }
    atomic_fetch_add(&STATE.allowed, 1);
    return VM_AUTH_HANDLED;
}

/* The first role (in their order) whose group the person's entry names, or -1. */
static int role_of(const struct login_result *result) {
    for (size_t r = 0; r < STATE.role_count; r++) {
        for (size_t g = 0; g < result->group_count; g++) {
            if (strcasecmp(STATE.roles[r].group, result->groups[g]) == 0) {
                return (int)r;
            }
        }
    }
    return -1;
}

/* Runs on the main thread once a directory thread has unblocked the client. */
static int reply_after_directory(ValkeyModuleCtx *ctx, ValkeyModuleString *username, ValkeyModuleString *password,
                                 ValkeyModuleString **err) {
    (void)password;
    struct job *job = VM.GetBlockedClientPrivateData(ctx);
    if (job == NULL) {
        return refuse(ctx, username, err, REFUSED_DIRECTORY_ERROR, "the directory check ended without a result");
    }
    atomic_fetch_add(&STATE.directory_checks, 1);
    atomic_fetch_add(&STATE.directory_ms, (unsigned long long)job->elapsed_ms);
    const struct login_result *r = &job->result;
    for (size_t i = 0; i < STATE.directory.server_count; i++) {
        if (r->server == (int)i) {
            atomic_store(&STATE.server_down[i], 0);
        } else if (r->unreachable[i]) {
            atomic_store(&STATE.server_down[i], 1);
        }
    }
    switch (r->outcome) {
    case LOGIN_OK: {
        int role = role_of(r);
        if (role < 0) {
            return refuse(ctx, username, err, REFUSED_NO_ROLE, "the person's entry is in no role's group");
        }
        cache_store(STATE.cache, job->name, job->password, job->password_len, role,
                    time(NULL) + (time_t)STATE.cache_ttl_seconds);
        return admit(ctx, username, err, role);
    }
    case LOGIN_WRONG_PASSWORD:
        return refuse(ctx, username, err, REFUSED_WRONG_PASSWORD, r->why);
    case LOGIN_NOT_FOUND:
        return refuse(ctx, username, err, REFUSED_NOT_FOUND, r->why);
    case LOGIN_AMBIGUOUS:
        return refuse(ctx, username, err, REFUSED_AMBIGUOUS, r->why);
    case LOGIN_DIRECTORY_DOWN:
        return refuse(ctx, username, err, REFUSED_DIRECTORY_DOWN, r->why[0] != '\0' ? r->why : "no directory server answered");
    case LOGIN_DIRECTORY_ERROR:
    default:
        return refuse(ctx, username, err, REFUSED_DIRECTORY_ERROR, r->why);
    }
}

static void free_job(ValkeyModuleCtx *ctx, void *privdata) {
    (void)ctx;
    struct job *job = privdata;
    if (job == NULL) {
        return;
    }
    if (job->password != NULL) {
        explicit_bzero(job->password, job->password_len);
    }
    free(job->password);
    free(job->name);
    login_result_clear(&job->result);
    free(job);
}

static void *directory_thread(void *unused) {
    (void)unused;
    char search_password[1024];
    struct directory_pool pool = {0};
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (queue_head == NULL) {
            pthread_cond_wait(&queue_ready, &queue_lock);
        }
        struct job *job = queue_head;
        queue_head = job->next;
        if (queue_head == NULL) {
            queue_tail = NULL;
        }
        pthread_mutex_unlock(&queue_lock);

        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        copy_search_password(search_password, sizeof search_password);
        directory_login(&STATE.directory, search_password, job->name, job->password, job->password_len, job->skip, &pool,
                        &job->result);
        explicit_bzero(search_password, sizeof search_password);
        clock_gettime(CLOCK_MONOTONIC, &end);
        job->elapsed_ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
        /* Thread-safe by the API: hands the job back to the main thread, which calls reply_after_directory. */
        VM.UnblockClient(job->bc, job);
    }
    return NULL;
}

static int on_auth(ValkeyModuleCtx *ctx, ValkeyModuleString *username, ValkeyModuleString *password,
                   ValkeyModuleString **err) {
    size_t name_len, password_len;
    const char *name = VM.StringPtrLen(username, &name_len);
    const char *secret = VM.StringPtrLen(password, &password_len);
    if (is_stack_user(name, name_len)) {
        return VM_AUTH_NOT_HANDLED;
    }
    const char *bad = login_name_refusal(name, name_len);
    if (bad != NULL) {
        return refuse(ctx, username, err, REFUSED_BAD_NAME, bad);
    }
    if (password_len == 0) {
        return refuse(ctx, username, err, REFUSED_EMPTY_PASSWORD, "an empty password would be an unauthenticated bind");
    }
    int role = cache_lookup(STATE.cache, name, secret, password_len, time(NULL));
    if (role >= 0 && (size_t)role < STATE.role_count) {
        return admit(ctx, username, err, role);
    }
    if (VM.GetContextFlags(ctx) & (VM_CTX_FLAGS_MULTI | VM_CTX_FLAGS_LUA)) {
        return refuse(ctx, username, err, REFUSED_IN_TRANSACTION, "a directory check cannot block inside MULTI or a script");
    }
    struct job *job = calloc(1, sizeof *job);
    if (job != NULL) {
        job->name = strndup(name, name_len);
        job->password = malloc(password_len);
        job->password_len = password_len;
    }
    if (job == NULL || job->name == NULL || job->password == NULL) {
        free_job(ctx, job);
        return refuse(ctx, username, err, REFUSED_DIRECTORY_ERROR, "out of memory");
    }
    memcpy(job->password, secret, password_len);
    for (size_t i = 0; i < STATE.directory.server_count; i++) {
        job->skip[i] = atomic_load(&STATE.server_down[i]);
    }
    job->bc = VM.BlockClientOnAuth(ctx, reply_after_directory, free_job);
    if (job->bc == NULL) {
        free_job(ctx, job);
        return refuse(ctx, username, err, REFUSED_DIRECTORY_ERROR, "the client could not be blocked for a directory check");
    }
    pthread_mutex_lock(&queue_lock);
    if (queue_tail != NULL) {
        queue_tail->next = job;
    } else {
        queue_head = job;
    }
    queue_tail = job;
    pthread_cond_signal(&queue_ready);
    pthread_mutex_unlock(&queue_lock);
    return VM_AUTH_HANDLED;
}

/* How often a server marked down is tried again in the background. */
#define PROBE_INTERVAL_SECONDS 5

/*
 * Tries every server every few seconds (a connection and its TLS, no bind): one marked down is
 * marked up once it answers and can be trusted, so a directory that came back serves logins in its
 * place in the order again without waiting for a login to find out; one that stops answering is
 * marked down, so INFO valkeyauth (the health check) says so before a person finds out. Touches
 * only the module's own state; each change of a server's state is one log line.
 */
static void *prober_thread(void *unused) {
    (void)unused;
    const struct timespec interval = {.tv_sec = PROBE_INTERVAL_SECONDS, .tv_nsec = 0};
    char why[384];
    for (;;) {
        nanosleep(&interval, NULL);
        for (size_t i = 0; i < STATE.directory.server_count; i++) {
            int was_down = atomic_load(&STATE.server_down[i]);
            int answers = directory_probe(&STATE.directory, i, why, sizeof why);
            if (was_down == answers) {
                atomic_store(&STATE.server_down[i], !answers);
                /* stderr, not the server's log: a probe runs on the module's own thread. */
                if (answers) {
                    fprintf(stderr, "valkeyauth: directory server %s is up again\n", STATE.directory.servers[i]);
                } else {
                    fprintf(stderr, "valkeyauth: directory server %s is down: %s\n", STATE.directory.servers[i], why);
                }
            }
        }
    }
    return NULL;
}

int login_start(ValkeyModuleCtx *ctx, long long threads) {
    for (long long i = 0; i <= threads; i++) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* `threads` directory threads, and the prober. */
        int rc = pthread_create(&tid, &attr, i < threads ? directory_thread : prober_thread, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            VM.Log(ctx, "warning", "valkeyauth: cannot start a directory thread (%s)", strerror(rc));
            return VM_ERR;
        }
    }
    VM.RegisterAuthCallback(ctx, on_auth);
    return VM_OK;
}
