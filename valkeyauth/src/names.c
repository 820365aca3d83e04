#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *login_name_refusal(const char *name, size_t len) {
    if (len == 0) {
        return "the name is empty";
    }
    if (len > LOGIN_NAME_MAX_BYTES) {
        return "the name is longer than 256 bytes";
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '\0') {
            return "the name holds a NUL byte";
        }
        if (strchr("*()\\/", c) != NULL) {
            return "the name holds one of * ( ) \\ /";
        }
        if (c <= ' ' || c == 0x7f) {
            return "the name holds whitespace or a control character";
        }
    }
    return NULL;
}

/* Appends to a growing buffer; the buffer is always large enough (callers size it for the worst case). */
static char *escaped(const char *value, int (*needs)(const char *value, size_t i), const char *(*form)(unsigned char c)) {
    size_t len = strlen(value);
    char *out = malloc(len * 3 + 1);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (needs(value, i)) {
            const char *f = form(c);
            size_t flen = strlen(f);
            memcpy(out + o, f, flen);
            o += flen;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

static int dn_needs(const char *value, size_t i) {
    unsigned char c = (unsigned char)value[i];
    size_t len = strlen(value);
    if (strchr("\"+,;<>\\=", c) != NULL) {
        return 1;
    }
    return (i == 0 && (c == ' ' || c == '#')) || (i == len - 1 && c == ' ');
}

static const char *dn_form(unsigned char c) {
    static _Thread_local char buf[3];
    buf[0] = '\\';
    buf[1] = (char)c;
    buf[2] = '\0';
    return buf;
}

static int filter_needs(const char *value, size_t i) {
    return strchr("*()\\", value[i]) != NULL;
}

static const char *filter_form(unsigned char c) {
    static _Thread_local char buf[4];
    snprintf(buf, sizeof buf, "\\%02x", c);
    return buf;
}

char *dn_escape_value(const char *value) {
    return escaped(value, dn_needs, dn_form);
}

char *filter_escape_value(const char *value) {
    return escaped(value, filter_needs, filter_form);
}

char *bind_dn_for(const char *prefix, const char *name, const char *suffix) {
    char *value = dn_escape_value(name);
    if (value == NULL) {
        return NULL;
    }
    size_t size = strlen(prefix) + strlen(value) + strlen(suffix) + 1;
    char *dn = malloc(size);
    if (dn != NULL) {
        snprintf(dn, size, "%s%s%s", prefix, value, suffix);
    }
    free(value);
    return dn;
}

char *search_filter_for(const char *filter, const char *name) {
    static const char placeholder[] = "$username";
    const size_t plen = sizeof placeholder - 1;
    char *value = filter_escape_value(name);
    if (value == NULL) {
        return NULL;
    }
    size_t count = 0;
    for (const char *p = strstr(filter, placeholder); p != NULL; p = strstr(p + plen, placeholder)) {
        count++;
    }
    size_t vlen = strlen(value);
    char *out = malloc(strlen(filter) + count * vlen + 1);
    if (out != NULL) {
        char *o = out;
        const char *from = filter;
        for (const char *p = strstr(from, placeholder); p != NULL; p = strstr(from, placeholder)) {
            memcpy(o, from, (size_t)(p - from));
            o += p - from;
            memcpy(o, value, vlen);
            o += vlen;
            from = p + plen;
        }
        strcpy(o, from);
    }
    free(value);
    return out;
}
