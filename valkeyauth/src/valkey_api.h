/*
 * The part of Valkey's module API this module uses, declared from the module API reference
 * (valkey.io/topics/modules-api-ref): opaque types, the constants we pass or compare, the callback
 * types, and one function pointer per API function. valkey_api_load() fills them by name through
 * the lookup function Valkey hands every module as the first word of its load context.
 */
#ifndef VALKEYAUTH_VALKEY_API_H
#define VALKEYAUTH_VALKEY_API_H

#include <stddef.h>
#include <stdint.h>

typedef struct ValkeyModuleCtx ValkeyModuleCtx;
typedef struct ValkeyModuleString ValkeyModuleString;
typedef struct ValkeyModuleUser ValkeyModuleUser;
typedef struct ValkeyModuleBlockedClient ValkeyModuleBlockedClient;
typedef struct ValkeyModuleCommand ValkeyModuleCommand;
typedef struct ValkeyModuleInfoCtx ValkeyModuleInfoCtx;

enum {
    VM_OK = 0,
    VM_ERR = 1,
    VM_AUTH_HANDLED = 0,
    VM_AUTH_NOT_HANDLED = 1,
    VM_APIVER_1 = 1,
    VM_ACL_LOG_AUTH = 0,
    VM_CONFIG_DEFAULT = 0,
    VM_CONFIG_IMMUTABLE = 1 << 0,
    VM_CTX_FLAGS_LUA = 1 << 0,
    VM_CTX_FLAGS_MULTI = 1 << 1,
};

typedef int (*VmCommandFunc)(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc);
typedef int (*VmAuthCallback)(ValkeyModuleCtx *ctx, ValkeyModuleString *username, ValkeyModuleString *password,
                              ValkeyModuleString **err);
typedef void (*VmUserChangedFunc)(uint64_t client_id, void *privdata);
typedef ValkeyModuleString *(*VmConfigGetString)(const char *name, void *privdata);
typedef int (*VmConfigSetString)(const char *name, ValkeyModuleString *val, void *privdata, ValkeyModuleString **err);
typedef long long (*VmConfigGetNumeric)(const char *name, void *privdata);
typedef int (*VmConfigSetNumeric)(const char *name, long long val, void *privdata, ValkeyModuleString **err);
typedef int (*VmConfigGetBool)(const char *name, void *privdata);
typedef int (*VmConfigSetBool)(const char *name, int val, void *privdata, ValkeyModuleString **err);
typedef int (*VmConfigApply)(ValkeyModuleCtx *ctx, void *privdata, ValkeyModuleString **err);
typedef void (*VmInfoFunc)(ValkeyModuleInfoCtx *ctx, int for_crash_report);

struct valkey_api {
    void (*SetModuleAttribs)(ValkeyModuleCtx *ctx, const char *name, int ver, int apiver);
    int (*IsModuleNameBusy)(const char *name);
    void (*Log)(ValkeyModuleCtx *ctx, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
    void *(*Alloc)(size_t bytes);
    void *(*Calloc)(size_t nmemb, size_t size);
    void (*Free)(void *ptr);
    int (*CreateCommand)(ValkeyModuleCtx *ctx, const char *name, VmCommandFunc func, const char *flags, int firstkey,
                         int lastkey, int keystep);
    ValkeyModuleCommand *(*GetCommand)(ValkeyModuleCtx *ctx, const char *name);
    int (*SetCommandACLCategories)(ValkeyModuleCommand *command, const char *categories);
    int (*WrongArity)(ValkeyModuleCtx *ctx);
    int (*ReplyWithError)(ValkeyModuleCtx *ctx, const char *err);
    int (*ReplyWithSimpleString)(ValkeyModuleCtx *ctx, const char *msg);
    int (*ReplyWithLongLong)(ValkeyModuleCtx *ctx, long long value);
    int (*ReplyWithArray)(ValkeyModuleCtx *ctx, long len);
    int (*ReplyWithMap)(ValkeyModuleCtx *ctx, long len);
    int (*ReplyWithCString)(ValkeyModuleCtx *ctx, const char *buf);
    const char *(*StringPtrLen)(const ValkeyModuleString *str, size_t *len);
    ValkeyModuleString *(*CreateString)(ValkeyModuleCtx *ctx, const char *ptr, size_t len);
    ValkeyModuleString *(*CreateStringPrintf)(ValkeyModuleCtx *ctx, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
    void (*FreeString)(ValkeyModuleCtx *ctx, ValkeyModuleString *str);
    void (*RetainString)(ValkeyModuleCtx *ctx, ValkeyModuleString *str);
    int (*GetContextFlags)(ValkeyModuleCtx *ctx);
    void (*RegisterAuthCallback)(ValkeyModuleCtx *ctx, VmAuthCallback cb);
    ValkeyModuleBlockedClient *(*BlockClientOnAuth)(ValkeyModuleCtx *ctx, VmAuthCallback reply_callback,
                                                    void (*free_privdata)(ValkeyModuleCtx *ctx, void *privdata));
    int (*UnblockClient)(ValkeyModuleBlockedClient *bc, void *privdata);
    int (*AbortBlock)(ValkeyModuleBlockedClient *bc);
    void *(*GetBlockedClientPrivateData)(ValkeyModuleCtx *ctx);
    ValkeyModuleUser *(*CreateModuleUser)(const char *name);
    void (*FreeModuleUser)(ValkeyModuleUser *user);
    int (*SetModuleUserACL)(ValkeyModuleUser *user, const char *acl);
    int (*AuthenticateClientWithUser)(ValkeyModuleCtx *ctx, ValkeyModuleUser *user, VmUserChangedFunc callback,
                                      void *privdata, uint64_t *client_id);
    void (*ACLAddLogEntryByUserName)(ValkeyModuleCtx *ctx, ValkeyModuleString *user, ValkeyModuleString *object,
                                     int reason);
    int (*RegisterStringConfig)(ValkeyModuleCtx *ctx, const char *name, const char *default_val, unsigned int flags,
                                VmConfigGetString getfn, VmConfigSetString setfn, VmConfigApply applyfn,
                                void *privdata);
    int (*RegisterNumericConfig)(ValkeyModuleCtx *ctx, const char *name, long long default_val, unsigned int flags,
                                 long long min, long long max, VmConfigGetNumeric getfn, VmConfigSetNumeric setfn,
                                 VmConfigApply applyfn, void *privdata);
    int (*RegisterBoolConfig)(ValkeyModuleCtx *ctx, const char *name, int default_val, unsigned int flags,
                              VmConfigGetBool getfn, VmConfigSetBool setfn, VmConfigApply applyfn, void *privdata);
    int (*LoadConfigs)(ValkeyModuleCtx *ctx);
    int (*RegisterInfoFunc)(ValkeyModuleCtx *ctx, VmInfoFunc cb);
    int (*InfoAddSection)(ValkeyModuleInfoCtx *ctx, const char *name);
    int (*InfoAddFieldLongLong)(ValkeyModuleInfoCtx *ctx, const char *field, long long value);
};

/* The API, filled by valkey_api_load(). */
extern struct valkey_api VM;

/* Fills VM from the load context; VM_ERR (and a line on stderr) when a function is missing. */
int valkey_api_load(ValkeyModuleCtx *ctx);

#endif
