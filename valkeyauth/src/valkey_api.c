/*
 * Looks up each API function by name. Valkey puts its lookup function, int (*)(const char *name,
 * void *out), first in the context it passes to ValkeyModule_OnLoad; it answers 0 when it filled
 * `out` with the function of that name.
 */
#include "valkey_api.h"

#include <stdio.h>
#include <string.h>

struct valkey_api VM;

typedef int (*api_lookup)(const char *name, void *out);

int valkey_api_load(ValkeyModuleCtx *ctx) {
    api_lookup lookup;
    void *first = ((void **)ctx)[0];
    memcpy(&lookup, &first, sizeof lookup);
    struct {
        const char *name;
        void *slot;
    } wanted[] = {
#define WANT(f) {"ValkeyModule_" #f, &VM.f}
        WANT(SetModuleAttribs),
        WANT(IsModuleNameBusy),
        WANT(Log),
        WANT(Alloc),
        WANT(Calloc),
        WANT(Free),
        WANT(CreateCommand),
        WANT(GetCommand),
        WANT(SetCommandACLCategories),
        WANT(WrongArity),
        WANT(ReplyWithError),
        WANT(ReplyWithSimpleString),
        WANT(ReplyWithLongLong),
        WANT(ReplyWithArray),
        WANT(ReplyWithMap),
        WANT(ReplyWithCString),
        WANT(StringPtrLen),
        WANT(CreateString),
        WANT(CreateStringPrintf),
        WANT(FreeString),
        WANT(RetainString),
        WANT(GetContextFlags),
        WANT(RegisterAuthCallback),
        WANT(BlockClientOnAuth),
        WANT(UnblockClient),
        WANT(AbortBlock),
        WANT(GetBlockedClientPrivateData),
        WANT(CreateModuleUser),
        WANT(FreeModuleUser),
        WANT(SetModuleUserACL),
        WANT(AuthenticateClientWithUser),
        WANT(ACLAddLogEntryByUserName),
        WANT(RegisterStringConfig),
        WANT(RegisterNumericConfig),
        WANT(RegisterBoolConfig),
        WANT(LoadConfigs),
        WANT(RegisterInfoFunc),
        WANT(InfoAddSection),
        WANT(InfoAddFieldLongLong),
#undef WANT
    };
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        if (lookup(wanted[i].name, wanted[i].slot) != 0) {
            fprintf(stderr, "valkeyauth: this server has no %s; it needs Valkey 8 or later\n", wanted[i].name);
            return VM_ERR;
        }
    }
    return VM_OK;
}
