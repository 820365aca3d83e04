/**
 * The `directory` setting: people log in with their directory (LDAP) password and get the rights
 * of the service user their directory group names (the valkeyauth module, valkeyauth/). What the
 * operator writes, its defaults, and every check, each problem naming the field, the value and the
 * fix. Pure code (no Pulumi import).
 */
import { X509Certificate } from "node:crypto";
import { Problems } from "./checks";
import { ATTRIBUTE, isDn, isSearchFilter, SERVER_URL } from "./ldapForms";
import { RESERVED_USER_NAMES, ServiceUser } from "./users";

/** A directory group and the service user whose commands and keys its members get. */
export interface DirectoryRole {
    /** The group's DN, as the person's group attribute (memberOf) names it. */
    group: string;
    /** A service user of `users`; its root grant becomes the members' rights. */
    user: string;
}

/** The `directory` setting as the operator writes it; `{}` (the default) is no directory login. */
export interface DirectoryInput {
    servers?: string[];
    startTls?: boolean;
    mode?: string;
    bindDnPrefix?: string;
    bindDnSuffix?: string;
    searchBase?: string;
    searchFilter?: string;
    searchAttribute?: string;
    searchBindDn?: string;
    groupAttribute?: string;
    caCertPem?: string;
    cacheTtlSeconds?: number;
    connectTimeoutMs?: number;
    timeoutMs?: number;
    roles?: DirectoryRole[];
}

/** The resolved setting: defaults applied, the search filter made from searchAttribute when given. */
export interface Directory {
    servers: string[];
    startTls: boolean;
    mode: "bind" | "search+bind";
    bindDnPrefix: string;
    bindDnSuffix: string;
    searchBase: string;
    searchFilter: string;
    searchBindDn: string;
    groupAttribute: string;
    caCertPem: string;
    cacheTtlSeconds: number;
    connectTimeoutMs: number;
    timeoutMs: number;
    roles: DirectoryRole[];
}

/** The module's limits: servers and roles it reads (valkeyauth/src/module.h). */
export const MAX_DIRECTORY_SERVERS = 8;
export const MAX_DIRECTORY_ROLES = 8;

const FIELDS: ReadonlyArray<keyof DirectoryInput> = [
    "servers",
    "startTls",
    "mode",
    "bindDnPrefix",
    "bindDnSuffix",
    "searchBase",
    "searchFilter",
    "searchAttribute",
    "searchBindDn",
    "groupAttribute",
    "caCertPem",
    "cacheTtlSeconds",
    "connectTimeoutMs",
    "timeoutMs",
    "roles",
];

const NUMBERS = {
    cacheTtlSeconds: { default: 300, min: 0, max: 86400, what: "seconds a successful login is remembered (0: never)" },
    connectTimeoutMs: { default: 1000, min: 100, max: 60000, what: "milliseconds to connect to one directory server" },
    timeoutMs: { default: 2000, min: 100, max: 60000, what: "milliseconds one directory server may take for a login" },
} as const;

/** True when the operator wrote no directory: absent, null or `{}`. */
export function directoryOff(value: unknown): boolean {
    return value === undefined || value === null || (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0);
}

/**
 * Checks the `directory` setting against the service users, reporting every problem; returns the
 * resolved setting, or null when there is none. `searchPasswordSet` says whether the secret setting
 * `directorySearchPassword` is set.
 */
export function reviewDirectory(
    value: unknown,
    users: readonly ServiceUser[],
    searchPasswordSet: boolean,
    problems: Problems,
    now: Date = new Date(),
): Directory | null {
    if (directoryOff(value)) {
        if (searchPasswordSet) {
            problems.fail(
                "directorySearchPassword",
                "(secret)",
                "it is only used with directory.mode search+bind and directory.searchBindDn; remove it (pulumi config rm directorySearchPassword) or set the directory",
            );
        }
        return null;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.fail(
            "directory",
            value,
            'write an object such as {"servers": ["ldaps://ldap.example.org"], "bindDnPrefix": "uid=", "bindDnSuffix": ",ou=people,dc=example,dc=org", "caCertPem": "-----BEGIN CERTIFICATE-----...", "roles": [{"group": "cn=auditors,ou=groups,dc=example,dc=org", "user": "log-reader"}]}, or {} for no directory login',
        );
        return null;
    }
    const input = value as Record<string, unknown>;
    const fail = (field: string, bad: unknown, fix: string): void => problems.fail(`directory.${field}`, bad, fix);
    for (const key of Object.keys(input)) {
        if (!(FIELDS as readonly string[]).includes(key)) {
            fail(key, input[key], `remove it: directory takes ${FIELDS.join(", ")}`);
        }
    }
    const text = (field: keyof DirectoryInput, fallback: string): string => {
        const written = input[field];
        if (written === undefined) {
            return fallback;
        }
        if (typeof written !== "string") {
            fail(field, written, "write it as text");
            return fallback;
        }
        return written;
    };

    // Servers: TLS always, by ldaps:// or by StartTLS on ldap://.
    const startTls = input.startTls ?? false;
    if (typeof startTls !== "boolean") {
        fail(
            "startTls",
            startTls,
            "set true (the servers are ldap:// and each connection is upgraded before any bind) or false (ldaps://)",
        );
    }
    const servers = Array.isArray(input.servers) ? (input.servers as unknown[]) : [];
    if (!Array.isArray(input.servers) || servers.length === 0 || servers.length > MAX_DIRECTORY_SERVERS) {
        fail(
            "servers",
            input.servers,
            `list 1 to ${MAX_DIRECTORY_SERVERS} directory URLs, tried in order, such as ["ldaps://ldap1.example.org", "ldaps://ldap2.example.org:636"]`,
        );
    }
    for (const server of servers) {
        const match = typeof server === "string" ? SERVER_URL.exec(server) : null;
        if (match === null || (match[6] !== undefined && (Number(match[6]) < 1 || Number(match[6]) > 65535))) {
            fail(
                "servers",
                server,
                "write each server as ldaps://host[:port] (or ldap://host[:port] with startTls: true), nothing after the port",
            );
        } else if (match[1] === "ldap" && startTls !== true) {
            fail(
                "servers",
                server,
                "a password must never cross the network in the clear: use ldaps://, or set directory.startTls: true to upgrade ldap:// before any bind",
            );
        } else if (match[1] === "ldaps" && startTls === true) {
            fail("servers", server, "startTls upgrades ldap:// connections; write ldap:// with startTls, or ldaps:// without it");
        }
    }

    // How a person's entry is found.
    const mode = text("mode", "bind");
    if (mode !== "bind" && mode !== "search+bind") {
        fail("mode", mode, 'write "bind" (the DN is bindDnPrefix + name + bindDnSuffix) or "search+bind" (a search finds the DN)');
    }
    const bindDnPrefix = text("bindDnPrefix", "");
    const bindDnSuffix = text("bindDnSuffix", "");
    const searchBase = text("searchBase", "");
    const searchAttribute = text("searchAttribute", "");
    const searchFilterWritten = text("searchFilter", "");
    const searchBindDn = text("searchBindDn", "");
    const searchFields = { searchBase, searchFilter: searchFilterWritten, searchAttribute, searchBindDn };
    if (mode === "bind") {
        if (bindDnPrefix === "" && bindDnSuffix === "") {
            fail(
                "bindDnPrefix",
                bindDnPrefix,
                'set bindDnPrefix and bindDnSuffix around the name, such as "uid=" and ",ou=people,dc=example,dc=org"',
            );
        } else if (!isDn(`${bindDnPrefix}person${bindDnSuffix}`)) {
            fail(
                "bindDnSuffix",
                `${bindDnPrefix}<name>${bindDnSuffix}`,
                'bindDnPrefix + name + bindDnSuffix must make a DN, such as "uid=" + name + ",ou=people,dc=example,dc=org"',
            );
        }
        for (const [field, written] of Object.entries(searchFields)) {
            if (written !== "") {
                fail(field, written, 'it is used by mode "search+bind" only; remove it, or set mode: "search+bind"');
            }
        }
        if (searchPasswordSet) {
            problems.fail(
                "directorySearchPassword",
                "(secret)",
                'it is used by mode "search+bind" only; remove it (pulumi config rm directorySearchPassword)',
            );
        }
    } else if (mode === "search+bind") {
        for (const [field, written] of Object.entries({ bindDnPrefix, bindDnSuffix })) {
            if (written !== "") {
                fail(field, written, 'it is used by mode "bind" only; remove it, or set mode: "bind"');
            }
        }
        if (!isDn(searchBase)) {
            fail("searchBase", searchBase, 'set the DN the search starts from (subtree), such as "ou=people,dc=example,dc=org"');
        }
        if (searchFilterWritten !== "" && searchAttribute !== "") {
            fail("searchAttribute", searchAttribute, "set searchAttribute or searchFilter, not both");
        } else if (searchAttribute !== "" && !ATTRIBUTE.test(searchAttribute)) {
            fail("searchAttribute", searchAttribute, 'write an attribute name such as "uid" or "sAMAccountName"');
        } else if (searchFilterWritten !== "" && !isSearchFilter(searchFilterWritten)) {
            fail(
                "searchFilter",
                searchFilterWritten,
                'write one parenthesised LDAP filter that names $username, such as "(&(uid=$username)(objectClass=person))"',
            );
        }
        if (searchBindDn !== "" && !isDn(searchBindDn)) {
            fail("searchBindDn", searchBindDn, 'write the search account\'s DN, such as "cn=valkey-search,ou=services,dc=example,dc=org"');
        }
        if (searchBindDn !== "" && !searchPasswordSet) {
            problems.fail(
                "directorySearchPassword",
                "(not set)",
                "set the search account's password as a secret: pulumi config set --secret directorySearchPassword (it reaches the containers as a file, never in env or argv)",
            );
        }
        if (searchBindDn === "" && searchPasswordSet) {
            problems.fail(
                "directorySearchPassword",
                "(secret)",
                "set directory.searchBindDn, the account it is the password of, or remove it",
            );
        }
    }
    const groupAttribute = text("groupAttribute", "memberOf");
    if (!ATTRIBUTE.test(groupAttribute)) {
        fail("groupAttribute", groupAttribute, 'write the attribute of a person\'s entry that names their groups, such as "memberOf"');
    }

    // The CA the directory's certificate must chain to.
    const caCertPem = text("caCertPem", "");
    if (caCertPem === "") {
        fail(
            "caCertPem",
            "(not set)",
            "set the PEM of the CA that issued the directory's certificate: every connection checks it and the server's name",
        );
    } else {
        let ca: X509Certificate | undefined;
        try {
            ca = new X509Certificate(caCertPem);
        } catch {
            fail(
                "caCertPem",
                `${caCertPem.slice(0, 40)}...`,
                "paste the CA certificate in PEM form, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
            );
        }
        if (ca !== undefined && !ca.ca) {
            fail("caCertPem", ca.subject, "that is not a CA certificate; set the CA that issued the directory's certificate");
        } else if (ca !== undefined && new Date(ca.validTo) < now) {
            fail("caCertPem", ca.subject, `that CA expired on ${ca.validTo}; set the directory's current CA`);
        }
    }

    const numbers = {} as Record<keyof typeof NUMBERS, number>;
    for (const [field, spec] of Object.entries(NUMBERS) as Array<[keyof typeof NUMBERS, (typeof NUMBERS)[keyof typeof NUMBERS]]>) {
        const written = input[field] ?? spec.default;
        if (!Number.isInteger(written) || (written as number) < spec.min || (written as number) > spec.max) {
            fail(field, written, `set a whole number of ${spec.what} from ${spec.min} to ${spec.max}`);
        }
        numbers[field] = written as number;
    }
    if (numbers.connectTimeoutMs > numbers.timeoutMs) {
        fail(
            "connectTimeoutMs",
            numbers.connectTimeoutMs,
            `set it at or below timeoutMs (${numbers.timeoutMs}), the bound of a whole login`,
        );
    }

    const roles = reviewRoles(input.roles, users, fail);
    return {
        servers: servers.filter((server): server is string => typeof server === "string"),
        startTls: startTls === true,
        mode: mode === "search+bind" ? "search+bind" : "bind",
        bindDnPrefix,
        bindDnSuffix,
        searchBase,
        searchFilter:
            searchAttribute !== ""
                ? `(${searchAttribute}=$username)`
                : searchFilterWritten !== ""
                  ? searchFilterWritten
                  : "(uid=$username)",
        searchBindDn,
        groupAttribute,
        caCertPem,
        ...numbers,
        roles,
    };
}

/** Roles: an ordered list of groups, each naming a service user (not one of the stack's own) whose root grant its members get. */
function reviewRoles(
    written: unknown,
    users: readonly ServiceUser[],
    fail: (field: string, bad: unknown, fix: string) => void,
): DirectoryRole[] {
    const example = '[{"group": "cn=auditors,ou=groups,dc=example,dc=org", "user": "log-reader"}]';
    if (!Array.isArray(written) || written.length === 0 || written.length > MAX_DIRECTORY_ROLES) {
        fail(
            "roles",
            written,
            `list 1 to ${MAX_DIRECTORY_ROLES} roles in order (a person gets the first whose group they are in), such as ${example}`,
        );
        return [];
    }
    const roles: DirectoryRole[] = [];
    written.forEach((role: unknown, index) => {
        const field = `roles[${index}]`;
        const { group, user, ...rest } = (role ?? {}) as Record<string, unknown>;
        if (typeof role !== "object" || role === null || Array.isArray(role) || Object.keys(rest).length > 0) {
            fail(field, role, `write each role as {"group": "<group DN>", "user": "<a service user's name>"}, nothing else`);
            return;
        }
        if (typeof group !== "string" || !isDn(group)) {
            fail(
                `${field}.group`,
                group,
                'write the group\'s DN as the group attribute names it, such as "cn=auditors,ou=groups,dc=example,dc=org"',
            );
        } else if (roles.some((earlier) => earlier.group.toLowerCase() === group.toLowerCase())) {
            fail(`${field}.group`, group, "name each group once: the first role of a group would always win");
        }
        const served = users.find((candidate) => candidate.name === user);
        if ((RESERVED_USER_NAMES as readonly unknown[]).includes(user)) {
            fail(
                `${field}.user`,
                user,
                "that is one of the stack's own users; name a service user of the users setting (add one with the commands and keys the group needs)",
            );
        } else if (served === undefined) {
            fail(
                `${field}.user`,
                user,
                `name a service user of the users setting (${users.map((candidate) => candidate.name).join(", ")}), or add one with the commands and keys the group needs`,
            );
        } else if ((served.selectors ?? []).length > 0) {
            fail(
                `${field}.user`,
                user,
                "that user has selectors, which a directory role cannot carry; name a user with one grant (commands, keys, channels), or add one",
            );
        }
        if (typeof group === "string" && typeof user === "string") {
            roles.push({ group, user });
        }
    });
    return roles;
}
