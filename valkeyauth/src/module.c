/*
 * valkeyauth: people log in to Valkey with their directory (LDAP) password and get the rights of
 * their directory group. The module's entry: its settings as module configs (valkeyauth.<name> in
 * valkey.conf, fixed once the server has started), their checks, and the AUTH.* commands.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

struct module_state STATE;

enum kind { TEXT, NUMBER, FLAG };

struct setting {
    const char *name;
    enum kind kind;
    const char *text_default;
    long long number_default, min, max;
    ValkeyModuleString *text; /* TEXT: the value as Valkey gave it, held */
    long long number;         /* NUMBER and FLAG */
    int secret_path;          /* a file holding a secret: AUTH.CONFIG GET shows the path, never the content */
};

/* Every setting; role-N-group and role-N-acl follow. Names without the module's "valkeyauth." prefix. */
static struct setting settings[] = {
    {.name = "servers", .kind = TEXT, .text_default = ""},
    {.name = "starttls", .kind = FLAG, .number_default = 0},
    {.name = "mode", .kind = TEXT, .text_default = "bind"},
    {.name = "bind-dn-prefix", .kind = TEXT, .text_default = ""},
    {.name = "bind-dn-suffix", .kind = TEXT, .text_default = ""},
    {.name = "search-base", .kind = TEXT, .text_default = ""},
    {.name = "search-filter", .kind = TEXT, .text_default = "(uid=$username)"},
    {.name = "search-bind-dn", .kind = TEXT, .text_default = ""},
    {.name = "search-password-file", .kind = TEXT, .text_default = "", .secret_path = 1},
    {.name = "ca-file", .kind = TEXT, .text_default = ""},
    {.name = "cert-file", .kind = TEXT, .text_default = ""},
    {.name = "key-file", .kind = TEXT, .text_default = "", .secret_path = 1},
    {.name = "group-attribute", .kind = TEXT, .text_default = "memberOf"},
    {.name = "connect-timeout-ms", .kind = NUMBER, .number_default = 1000, .min = 100, .max = 60000},
    {.name = "timeout-ms", .kind = NUMBER, .number_default = 2000, .min = 100, .max = 60000},
    {.name = "cache-ttl-seconds", .kind = NUMBER, .number_default = 300, .min = 0, .max = 86400},
    {.name = "cache-size", .kind = NUMBER, .number_default = 10000, .min = 1, .max = 10000000},
    {.name = "threads", .kind = NUMBER, .number_default = 4, .min = 1, .max = 64},
    {.name = "stack-users", .kind = TEXT, .text_default = ""},
};
#define BASE_SETTINGS (sizeof settings / sizeof settings[0])
static struct setting role_settings[MAX_ROLES * 2];
static char role_names[MAX_ROLES * 2][24];

static struct setting *setting_named(const char *name) {
    for (size_t i = 0; i < BASE_SETTINGS; i++) {
        if (strcmp(settings[i].name, name) == 0) {
            return &settings[i];
        }
    }
    for (size_t i = 0; i < MAX_ROLES * 2; i++) {
        if (strcmp(role_settings[i].name, name) == 0) {
            return &role_settings[i];
        }
    }
    return NULL;
}

static const char *text(const char *name) {
    struct setting *s = setting_named(name);
    return s != NULL && s->text != NULL ? VM.StringPtrLen(s->text, NULL) : "";
}

static long long number(const char *name) {
    return setting_named(name)->number;
}

static ValkeyModuleString *get_text(const char *name, void *privdata) {
    (void)name;
    return ((struct setting *)privdata)->text;
}

static int set_text(const char *name, ValkeyModuleString *value, void *privdata, ValkeyModuleString **err) {
    (void)name;
    (void)err;
    struct setting *s = privdata;
    if (s->text != NULL) {
        VM.FreeString(NULL, s->text);
    }
    VM.RetainString(NULL, value);
    s->text = value;
    return VM_OK;
}

static long long get_number(const char *name, void *privdata) {
    (void)name;
    return ((struct setting *)privdata)->number;
}

static int set_number(const char *name, long long value, void *privdata, ValkeyModuleString **err) {
    (void)name;
    (void)err;
    ((struct setting *)privdata)->number = value;
    return VM_OK;
}

static int get_flag(const char *name, void *privdata) {
    return (int)get_number(name, privdata);
}

static int set_flag(const char *name, int value, void *privdata, ValkeyModuleString **err) {
    return set_number(name, value, privdata, err);
}

static int register_setting(ValkeyModuleCtx *ctx, struct setting *s) {
    switch (s->kind) {
    case TEXT:
        return VM.RegisterStringConfig(ctx, s->name, s->text_default, VM_CONFIG_IMMUTABLE, get_text, set_text, NULL, s);
    case NUMBER:
        s->number = s->number_default;
        return VM.RegisterNumericConfig(ctx, s->name, s->number_default, VM_CONFIG_IMMUTABLE, s->min, s->max, get_number,
                                        set_number, NULL, s);
    case FLAG:
    default:
        s->number = s->number_default;
        return VM.RegisterBoolConfig(ctx, s->name, (int)s->number_default, VM_CONFIG_IMMUTABLE, get_flag, set_flag, NULL, s);
    }
}

/* The search account's password, read from its file; guarded because AUTH.RELOAD replaces it while threads read it. */
static pthread_mutex_t search_password_lock = PTHREAD_MUTEX_INITIALIZER;
static char search_password[1024];

void copy_search_password(char *out, size_t size) {
    pthread_mutex_lock(&search_password_lock);
    snprintf(out, size, "%s", search_password);
    pthread_mutex_unlock(&search_password_lock);
}

const char *read_search_password(void) {
    static char why[512];
    const char *path = text("search-password-file");
    if (*path == '\0') {
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, sizeof why, "valkeyauth.search-password-file %s cannot be read (%s)", path, strerror(errno));
        return why;
    }
    char buf[sizeof search_password];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int overlong = !feof(f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    buf[n] = '\0';
    const char *problem = overlong ? "is longer than 1023 bytes" : n == 0 ? "is empty" : NULL;
    if (problem != NULL) {
        explicit_bzero(buf, sizeof buf);
        snprintf(why, sizeof why, "valkeyauth.search-password-file %s %s", path, problem);
        return why;
    }
    pthread_mutex_lock(&search_password_lock);
    memcpy(search_password, buf, n + 1);
    pthread_mutex_unlock(&search_password_lock);
    explicit_bzero(buf, sizeof buf);
    return NULL;
}

/* The first of `rules` (space-separated ACL rules) that Valkey refuses, tried on a scratch module user; NULL when all pass. */
static const char *first_bad_rule(const char *rules) {
    static char bad[256];
    ValkeyModuleUser *scratch = VM.CreateModuleUser("valkeyauth-rule-check");
    char *copy = strdup(rules);
    const char *found = NULL;
    char *save = NULL;
    for (char *op = copy != NULL ? strtok_r(copy, " ", &save) : NULL; op != NULL && found == NULL; op = strtok_r(NULL, " ", &save)) {
        if (VM.SetModuleUserACL(scratch, op) != VM_OK) {
            snprintf(bad, sizeof bad, "%s", op);
            found = bad;
        }
    }
    free(copy);
    VM.FreeModuleUser(scratch);
    return found;
}

/* Builds STATE from the settings; NULL, or the first problem, naming the setting, its value and the fix. */
static const char *build_state(void) {
    static char why[768];
    static char servers_copy[2048];
    struct directory_config *d = &STATE.directory;
    snprintf(servers_copy, sizeof servers_copy, "%s", text("servers"));
    char *save = NULL;
    for (char *url = strtok_r(servers_copy, " ", &save); url != NULL; url = strtok_r(NULL, " ", &save)) {
        if (d->server_count == DIRECTORY_MAX_SERVERS) {
            return "valkeyauth.servers names more than 8 servers; name at most 8";
        }
        int ldaps = strncmp(url, "ldaps://", 8) == 0, ldap = strncmp(url, "ldap://", 7) == 0;
        if (!ldaps && !ldap) {
            snprintf(why, sizeof why, "valkeyauth.servers: \"%s\" is not an ldaps:// or ldap:// URL", url);
            return why;
        }
        if (ldap && !number("starttls")) {
            snprintf(why, sizeof why,
                     "valkeyauth.servers: \"%s\" would send passwords in plaintext; use ldaps:// or set valkeyauth.starttls yes", url);
            return why;
        }
        if (ldaps && number("starttls")) {
            snprintf(why, sizeof why, "valkeyauth.servers: \"%s\" is ldaps:// while valkeyauth.starttls is yes; use ldap:// with StartTLS", url);
            return why;
        }
        d->servers[d->server_count++] = url;
    }
    if (d->server_count == 0) {
        return "valkeyauth.servers is empty; name the directory, e.g. ldaps://ldap.example.org";
    }
    d->starttls = (int)number("starttls");
    const char *mode = text("mode");
    if (strcmp(mode, "bind") != 0 && strcmp(mode, "search+bind") != 0) {
        snprintf(why, sizeof why, "valkeyauth.mode: \"%s\" is neither bind nor search+bind", mode);
        return why;
    }
    d->search_mode = strcmp(mode, "search+bind") == 0;
    d->bind_dn_prefix = text("bind-dn-prefix");
    d->bind_dn_suffix = text("bind-dn-suffix");
    d->search_base = text("search-base");
    d->search_filter = text("search-filter");
    d->search_bind_dn = text("search-bind-dn");
    if (!d->search_mode && *d->bind_dn_prefix == '\0' && *d->bind_dn_suffix == '\0') {
        return "valkeyauth.bind-dn-prefix and bind-dn-suffix are both empty in bind mode; set them, e.g. \"uid=\" and "
               "\",ou=people,dc=example,dc=org\"";
    }
    if (d->search_mode) {
        if (*d->search_base == '\0' || *d->search_bind_dn == '\0' || *text("search-password-file") == '\0') {
            return "search+bind needs valkeyauth.search-base, search-bind-dn and search-password-file; set all three";
        }
        if (strstr(d->search_filter, "$username") == NULL) {
            snprintf(why, sizeof why, "valkeyauth.search-filter: \"%s\" has no $username; e.g. (uid=$username)", d->search_filter);
            return why;
        }
    }
    d->ca_file = text("ca-file");
    FILE *ca = *d->ca_file != '\0' ? fopen(d->ca_file, "r") : NULL;
    if (ca == NULL) {
        snprintf(why, sizeof why, "valkeyauth.ca-file: \"%s\" cannot be read; name the CA file that signed the directory's certificate",
                 d->ca_file);
        return why;
    }
    fclose(ca);
    d->cert_file = text("cert-file");
    d->key_file = text("key-file");
    if ((*d->cert_file == '\0') != (*d->key_file == '\0')) {
        return "valkeyauth.cert-file and key-file go together; set both or neither";
    }
    d->group_attribute = text("group-attribute");
    d->connect_timeout_ms = number("connect-timeout-ms");
    d->timeout_ms = number("timeout-ms");
    for (size_t r = 0; r < MAX_ROLES; r++) {
        const char *group = text(role_settings[2 * r].name);
        const char *acl = text(role_settings[2 * r + 1].name);
        if (*group == '\0' && *acl == '\0') {
            continue;
        }
        char *norm = *group != '\0' ? normalized_dn(group) : NULL;
        if (norm == NULL || *acl == '\0') {
            snprintf(why, sizeof why, "valkeyauth.role-%zu-group \"%s\" needs a valid group DN and role-%zu-acl its ACL rules", r + 1,
                     group, r + 1);
            free(norm);
            return why;
        }
        const char *bad_rule = first_bad_rule(acl);
        if (bad_rule != NULL) {
            snprintf(why, sizeof why, "valkeyauth.role-%zu-acl: \"%s\" is not an ACL rule this server accepts; write rules as in ACL SETUSER",
                     r + 1, bad_rule);
            free(norm);
            return why;
        }
        STATE.roles[STATE.role_count++] = (struct role){.group = norm, .acl = acl};
    }
    if (STATE.role_count == 0) {
        return "no role is set; set valkeyauth.role-1-group to a group DN and valkeyauth.role-1-acl to its ACL rules";
    }
    STATE.stack_users = text("stack-users");
    STATE.cache_ttl_seconds = number("cache-ttl-seconds");
    STATE.cache = cache_create((size_t)number("cache-size"));
    if (STATE.cache == NULL) {
        return "cannot make the login cache (memory or randomness)";
    }
    return read_search_password();
}

/*
 * INFO valkeyauth: the counters AUTH.STATUS reports, as fields a user with only +info (the health
 * check, the metrics exporter) can read: valkeyauth_servers_down, valkeyauth_refused_directory_down...
 */
static void info_func(ValkeyModuleInfoCtx *ctx, int for_crash_report) {
    (void)for_crash_report;
    size_t size;
    unsigned long long hits, misses;
    cache_counts(STATE.cache, &size, &hits, &misses);
    long long down = 0;
    for (size_t i = 0; i < STATE.directory.server_count; i++) {
        down += atomic_load(&STATE.server_down[i]) ? 1 : 0;
    }
    VM.InfoAddSection(ctx, "");
    VM.InfoAddFieldLongLong(ctx, "servers", (long long)STATE.directory.server_count);
    VM.InfoAddFieldLongLong(ctx, "servers_down", down);
    VM.InfoAddFieldLongLong(ctx, "logins_allowed", (long long)atomic_load(&STATE.allowed));
    for (int k = 0; k < REFUSAL_KINDS; k++) {
        char field[48];
        snprintf(field, sizeof field, "refused_%s", REFUSAL_NAMES[k]);
        for (char *c = field; *c != '\0'; c++) {
            *c = *c == '-' ? '_' : *c;
        }
        VM.InfoAddFieldLongLong(ctx, field, (long long)atomic_load(&STATE.refused[k]));
    }
    VM.InfoAddFieldLongLong(ctx, "cache_size", (long long)size);
    VM.InfoAddFieldLongLong(ctx, "cache_hits", (long long)hits);
    VM.InfoAddFieldLongLong(ctx, "cache_misses", (long long)misses);
    VM.InfoAddFieldLongLong(ctx, "directory_checks", (long long)atomic_load(&STATE.directory_checks));
    VM.InfoAddFieldLongLong(ctx, "directory_connections_opened", (long long)directory_connections_opened());
}

static int status_command(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc) {
    (void)argv;
    if (argc != 1) {
        return VM.WrongArity(ctx);
    }
    size_t size;
    unsigned long long hits, misses;
    cache_counts(STATE.cache, &size, &hits, &misses);
    unsigned long long checks = atomic_load(&STATE.directory_checks);
    VM.ReplyWithMap(ctx, 8 + REFUSAL_KINDS);
    VM.ReplyWithCString(ctx, "servers");
    VM.ReplyWithArray(ctx, (long)STATE.directory.server_count);
    for (size_t i = 0; i < STATE.directory.server_count; i++) {
        ValkeyModuleString *line = VM.CreateStringPrintf(ctx, "%s %s", STATE.directory.servers[i],
                                                         atomic_load(&STATE.server_down[i]) ? "down" : "up");
        VM.ReplyWithCString(ctx, VM.StringPtrLen(line, NULL));
        VM.FreeString(ctx, line);
    }
    VM.ReplyWithCString(ctx, "logins-allowed");
    VM.ReplyWithLongLong(ctx, (long long)atomic_load(&STATE.allowed));
    for (int k = 0; k < REFUSAL_KINDS; k++) {
        ValkeyModuleString *key = VM.CreateStringPrintf(ctx, "refused-%s", REFUSAL_NAMES[k]);
        VM.ReplyWithCString(ctx, VM.StringPtrLen(key, NULL));
        VM.FreeString(ctx, key);
        VM.ReplyWithLongLong(ctx, (long long)atomic_load(&STATE.refused[k]));
    }
    VM.ReplyWithCString(ctx, "cache-size");
    VM.ReplyWithLongLong(ctx, (long long)size);
    VM.ReplyWithCString(ctx, "cache-hits");
    VM.ReplyWithLongLong(ctx, (long long)hits);
    VM.ReplyWithCString(ctx, "cache-misses");
    VM.ReplyWithLongLong(ctx, (long long)misses);
    VM.ReplyWithCString(ctx, "directory-checks");
    VM.ReplyWithLongLong(ctx, (long long)checks);
    VM.ReplyWithCString(ctx, "directory-connections-opened");
    VM.ReplyWithLongLong(ctx, (long long)directory_connections_opened());
    VM.ReplyWithCString(ctx, "directory-average-ms");
    VM.ReplyWithLongLong(ctx, checks == 0 ? 0 : (long long)(atomic_load(&STATE.directory_ms) / checks));
    return VM_OK;
}

static int flushcache_command(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc) {
    if (argc > 2) {
        return VM.WrongArity(ctx);
    }
    return VM.ReplyWithLongLong(ctx, (long long)cache_forget(STATE.cache, argc == 2 ? VM.StringPtrLen(argv[1], NULL) : NULL));
}

static int reload_command(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc) {
    (void)argv;
    if (argc != 1) {
        return VM.WrongArity(ctx);
    }
    /* The CA and client certificate files are read by every new directory connection; the password is read here. */
    const char *problem = read_search_password();
    if (problem != NULL) {
        ValkeyModuleString *msg = VM.CreateStringPrintf(ctx, "ERR %s; the previous password stays in use", problem);
        VM.ReplyWithError(ctx, VM.StringPtrLen(msg, NULL));
        VM.FreeString(ctx, msg);
        return VM_OK;
    }
    return VM.ReplyWithSimpleString(ctx, "OK");
}

static int config_command(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc) {
    if (argc != 2 || strcasecmp(VM.StringPtrLen(argv[1], NULL), "GET") != 0) {
        return VM.ReplyWithError(ctx, "ERR usage: AUTH.CONFIG GET (settings change in valkey.conf as valkeyauth.<name>)");
    }
    VM.ReplyWithMap(ctx, (long)(BASE_SETTINGS + MAX_ROLES * 2));
    struct setting *all[BASE_SETTINGS + MAX_ROLES * 2];
    for (size_t i = 0; i < BASE_SETTINGS; i++) {
        all[i] = &settings[i];
    }
    for (size_t i = 0; i < MAX_ROLES * 2; i++) {
        all[BASE_SETTINGS + i] = &role_settings[i];
    }
    for (size_t i = 0; i < BASE_SETTINGS + MAX_ROLES * 2; i++) {
        VM.ReplyWithCString(ctx, all[i]->name);
        if (all[i]->kind == TEXT) {
            VM.ReplyWithCString(ctx, all[i]->text != NULL ? VM.StringPtrLen(all[i]->text, NULL) : "");
        } else {
            VM.ReplyWithLongLong(ctx, all[i]->number);
        }
    }
    return VM_OK;
}

static int add_command(ValkeyModuleCtx *ctx, const char *name, VmCommandFunc func) {
    /* "admin": the command is in @admin and @dangerous, which no stack user and no person's role is given. */
    return VM.CreateCommand(ctx, name, func, "admin deny-script", 0, 0, 0);
}

int ValkeyModule_OnLoad(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    if (valkey_api_load(ctx) != VM_OK) {
        return VM_ERR;
    }
    if (VM.IsModuleNameBusy("valkeyauth")) {
        return VM_ERR;
    }
    VM.SetModuleAttribs(ctx, "valkeyauth", 1, VM_APIVER_1);
    for (size_t r = 0; r < MAX_ROLES; r++) {
        snprintf(role_names[2 * r], sizeof role_names[0], "role-%zu-group", r + 1);
        snprintf(role_names[2 * r + 1], sizeof role_names[0], "role-%zu-acl", r + 1);
        role_settings[2 * r] = (struct setting){.name = role_names[2 * r], .kind = TEXT, .text_default = ""};
        role_settings[2 * r + 1] = (struct setting){.name = role_names[2 * r + 1], .kind = TEXT, .text_default = ""};
    }
    for (size_t i = 0; i < BASE_SETTINGS + MAX_ROLES * 2; i++) {
        struct setting *s = i < BASE_SETTINGS ? &settings[i] : &role_settings[i - BASE_SETTINGS];
        if (register_setting(ctx, s) != VM_OK) {
            VM.Log(ctx, "warning", "valkeyauth: the server refused the setting valkeyauth.%s", s->name);
            return VM_ERR;
        }
    }
    if (VM.LoadConfigs(ctx) != VM_OK) {
        VM.Log(ctx, "warning", "valkeyauth: a valkeyauth.* line of valkey.conf was refused (the line before says which)");
        return VM_ERR;
    }
    const char *problem = build_state();
    if (problem != NULL) {
        VM.Log(ctx, "warning", "valkeyauth: %s", problem);
        return VM_ERR;
    }
    if (add_command(ctx, "auth.status", status_command) != VM_OK || add_command(ctx, "auth.flushcache", flushcache_command) != VM_OK ||
        add_command(ctx, "auth.reload", reload_command) != VM_OK || add_command(ctx, "auth.config", config_command) != VM_OK) {
        VM.Log(ctx, "warning", "valkeyauth: the server refused an AUTH.* command (is another module's command of that name loaded?)");
        return VM_ERR;
    }
    if (VM.RegisterInfoFunc(ctx, info_func) != VM_OK) {
        VM.Log(ctx, "warning", "valkeyauth: the server refused the module's INFO section");
        return VM_ERR;
    }
    return login_start(ctx, number("threads"));
}
