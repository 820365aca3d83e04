/**
 * The forms of what an LDAP setting names: an attribute, a server URL, a distinguished name, a
 * search filter. Only the form is checked here, for a message before anything is deployed; the
 * module parses each again with libldap when Valkey starts. Pure code.
 */

/** An LDAP attribute name (RFC 4512 descr) or a numeric OID. */
export const ATTRIBUTE = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/;

/** An ldaps:// or ldap:// URL of a host and optional port, nothing after it. */
export const SERVER_URL = /^(ldaps?):\/\/([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\d{1,3}(\.\d{1,3}){3})(:(\d{1,5}))?\/?$/;

/**
 * Whether `dn` is a distinguished name in RFC 4514's string form: RDNs separated by unescaped
 * commas, each one or more `attribute=value` joined by unescaped `+`, values with their specials
 * escaped (`\,` or `\2c`). Only the form is checked, in one pass; the module parses it again with
 * libldap when Valkey starts.
 */
export function isDn(dn: string): boolean {
    if (dn.length === 0 || dn.length > 1024 || /[\0\n\r]/.test(dn)) {
        return false;
    }
    const pairs: string[] = [];
    let current = "";
    for (let i = 0; i < dn.length; i++) {
        const char = dn[i];
        if (char === "\\") {
            const next = dn.slice(i + 1, i + 3);
            if (/^[0-9A-Fa-f]{2}$/.test(next)) {
                current += "\\xx";
                i += 2;
            } else if (next.length > 0 && ',+"\\<>;=# '.includes(next[0])) {
                current += "\\x";
                i += 1;
            } else {
                return false;
            }
        } else if (char === "," || char === "+") {
            pairs.push(current);
            current = "";
        } else if ('"<>;'.includes(char)) {
            return false;
        } else {
            current += char;
        }
    }
    pairs.push(current);
    return pairs.every((pair) => {
        const equals = pair.indexOf("=");
        const attribute = pair.slice(0, Math.max(equals, 0)).trim();
        const value = pair.slice(equals + 1).trim();
        if (equals <= 0 || !ATTRIBUTE.test(attribute) || value === "") {
            return false;
        }
        return !value.startsWith("#") || /^#([0-9A-Fa-f]{2})+$/.test(value);
    });
}

/** Whether a search filter is one parenthesised LDAP filter that names `$username`. */
export function isSearchFilter(filter: string): boolean {
    if (!filter.startsWith("(") || !filter.endsWith(")") || !filter.includes("$username") || /[\0\n\r]/.test(filter)) {
        return false;
    }
    let depth = 0;
    for (let i = 0; i < filter.length; i++) {
        if (filter[i] === "\\") {
            i += 2;
            continue;
        }
        depth += filter[i] === "(" ? 1 : filter[i] === ")" ? -1 : 0;
        if (depth < 0 || (depth === 0 && i < filter.length - 1)) {
            return false;
        }
    }
    return depth === 0;
}
