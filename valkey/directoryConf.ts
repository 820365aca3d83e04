/**
 * The valkeyauth module's lines of valkey.conf, from the `directory` setting: where the module is,
 * the directory's servers and TLS, how a person's entry is found, and per role the group and the
 * rights of the service user it names. The search password and the CA are files in the secrets
 * volume, never in the config. Pure code (no Pulumi import).
 */
import { Directory } from "../settings/directory";
import { RESERVED_USER_NAMES, ServiceUser } from "../settings/users";
import { aclGrantOf } from "./acl";

/** Where a node finds the module and the directory's secret files. */
export interface DirectoryPaths {
    module: string;
    caFile: string;
    searchPasswordFile: string;
}

/** Quotes a value as valkey.conf's parser reads it: double quotes, with `"` and `\` escaped. */
function quoted(value: string): string {
    return `"${value.replace(/[\\"]/g, (special) => `\\${special}`)}"`;
}

/**
 * A role's rights as module ACL rules: the service user's root grant, commands and key and channel
 * patterns only (settings/directory.ts refuses a user with selectors).
 */
export function roleAcl(user: ServiceUser): string {
    const grant = aclGrantOf(user);
    return ["-@all", ...grant.commands.map((command) => `+${command}`), ...grant.keys, ...(grant.channels ?? [])].join(" ");
}

/** The names the module never handles: every service user and every user of the stack's own, whose passwords Valkey checks. */
export function stackUserNames(users: readonly ServiceUser[]): string[] {
    return [...users.map((user) => user.name), ...RESERVED_USER_NAMES];
}

/** The module's lines of valkey.conf. */
export function renderDirectoryConf(directory: Directory, users: readonly ServiceUser[], paths: DirectoryPaths): string[] {
    const setting = (name: string, value: string | number): string =>
        `valkeyauth.${name} ${typeof value === "number" ? value : quoted(value)}`;
    const byName = new Map(users.map((user) => [user.name, user]));
    return [
        "# Directory login: people log in with their directory password and get their group's role;",
        "# the stack's own and the service users never reach the directory (valkeyauth module, R17)",
        `loadmodule ${quoted(paths.module)}`,
        setting("servers", directory.servers.join(" ")),
        `valkeyauth.starttls ${directory.startTls ? "yes" : "no"}`,
        setting("ca-file", paths.caFile),
        setting("mode", directory.mode),
        ...(directory.mode === "bind"
            ? [setting("bind-dn-prefix", directory.bindDnPrefix), setting("bind-dn-suffix", directory.bindDnSuffix)]
            : [
                  setting("search-base", directory.searchBase),
                  setting("search-filter", directory.searchFilter),
                  ...(directory.searchBindDn === ""
                      ? []
                      : [setting("search-bind-dn", directory.searchBindDn), setting("search-password-file", paths.searchPasswordFile)]),
              ]),
        setting("group-attribute", directory.groupAttribute),
        setting("connect-timeout-ms", directory.connectTimeoutMs),
        setting("timeout-ms", directory.timeoutMs),
        setting("cache-ttl-seconds", directory.cacheTtlSeconds),
        setting("stack-users", stackUserNames(users).join(" ")),
        ...directory.roles.flatMap((role, index) => {
            const user = byName.get(role.user);
            if (user === undefined) {
                throw new Error(`directory role ${index + 1} names ${role.user}, which is not a service user`);
            }
            return [setting(`role-${index + 1}-group`, role.group), setting(`role-${index + 1}-acl`, roleAcl(user))];
        }),
        "",
    ];
}
