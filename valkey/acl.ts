/**
 * The ACL users and the rendering of Valkey's ACL file. Pure code (no Pulumi import).
 *
 * Each user is an allowlist: `reset` clears everything, then only the listed commands on the listed
 * key patterns are granted. Nothing is granted by category, so no administrative, scripting,
 * replication or persistence command can slip in (`+@all`, `+@write` and friends include them).
 * The integration suite proves on a real server that every other command in the server's own
 * COMMAND table is refused for each user.
 */
import { createHash } from "node:crypto";
import { MOLIS_KEYS, MOLIS_USERS } from "../settings/molisUsers";
import { ServiceUser, ServiceUserGrant } from "../settings/users";

/** One permission set: commands allowed on keys matching the patterns (Valkey selector syntax). */
export interface AclGrant {
    /** Lower-case command names, for example `get` or `zadd`. */
    commands: readonly string[];
    /**
     * Key patterns in Valkey syntax: `~pattern` read and write, `%R~pattern` read only.
     * Empty for keyless commands only.
     */
    keys: readonly string[];
    /** Pub/Sub channel patterns (`&channel`); none unless listed. */
    channels?: readonly string[];
}

/** A user: its job, a root grant and optional selectors (alternatives, OR-ed). */
export interface AclUserSpec<Name extends string = AclUserName> {
    name: Name;
    job: string;
    grants: readonly AclGrant[];
}

/** An ACL user's name: a service user's (the `users` setting) or one of the stack's own. */
export type AclUserName = string;

/** Key names and patterns of the Molis data model. */
export const KEYS = MOLIS_KEYS;

/** A service user's grant in the ACL's terms: `~` read-write, `%R~` read-only, `%W~` write-only, `&` channels. */
export function aclGrantOf(grant: ServiceUserGrant): AclGrant {
    return {
        commands: grant.commands,
        keys: [
            ...(grant.keys?.readWrite ?? []).map((pattern) => `~${pattern}`),
            ...(grant.keys?.readOnly ?? []).map((pattern) => `%R~${pattern}`),
            ...(grant.keys?.writeOnly ?? []).map((pattern) => `%W~${pattern}`),
        ],
        ...(grant.channels === undefined ? {} : { channels: grant.channels.map((channel) => `&${channel}`) }),
    };
}

/** A service user as an ACL user: its root grant, then its selectors. */
export function aclUserOf<Name extends string>(user: ServiceUser & { name: Name }): AclUserSpec<Name> {
    return { name: user.name, job: user.job ?? "", grants: [aclGrantOf(user), ...(user.selectors ?? []).map(aclGrantOf)] };
}

/** The users the stack makes for itself on every data node: the health check's and the exporter's. */
export const BUILT_IN_ACL_USERS: readonly AclUserSpec[] = [
    {
        name: "healthcheck",
        job: "checks liveness, memory and persistence (PING and INFO, no keys)",
        grants: [{ commands: ["ping", "info"], keys: [] }],
    },
    {
        name: "metrics",
        // What redis_exporter sends with -set-client-name=false -config-command=- (no CLIENT SETNAME,
        // no CONFIG GET: that cannot be narrowed to one parameter and would show the whole config).
        // SLOWLOG GET shows the slowest commands' first arguments: its credentials are as sensitive as a reader's.
        job: "the metrics exporter: server statistics (INFO, LATENCY LATEST and HISTOGRAM, SLOWLOG LEN and GET), no keys, no channels",
        grants: [{ commands: ["info", "latency|latest", "latency|histogram", "slowlog|len", "slowlog|get"], keys: [] }],
    },
];

/** The ACL users of a data node: the service users, then the stack's own. */
export function aclUsersOf(users: readonly ServiceUser[]): AclUserSpec[] {
    return [...users.map(aclUserOf), ...BUILT_IN_ACL_USERS];
}

/** Every ACL user's name, in the order of {@link aclUsersOf}. */
export function userNamesOf(users: readonly ServiceUser[]): string[] {
    return aclUsersOf(users).map((user) => user.name);
}

/** The default users: the Molis gateway's service users (settings/molisUsers.ts), then the stack's own. */
export const ACL_USERS: readonly AclUserSpec[] = aclUsersOf(MOLIS_USERS);

/** The default users' names. */
export const ACL_USER_NAMES: readonly string[] = userNamesOf(MOLIS_USERS);

/**
 * Commands renamed to "" in valkey.conf (R2.6). FLUSHALL and FLUSHDB are deliberately not
 * renamed: they are write commands recorded in the AOF, and an AOF that holds one (from before
 * hardening, or restored from elsewhere) would stop Valkey at start with "unknown command".
 * The ACL allowlists refuse both to every user instead.
 */
export const RENAMED_COMMANDS = [
    "DEBUG",
    "CONFIG",
    "SHUTDOWN",
    "SLAVEOF",
    "REPLICAOF",
    "MODULE",
    "BGSAVE",
    "BGREWRITEAOF",
    "KEYS",
] as const;

/** Valkey's `#<hex>` password form: the SHA-256 of the password, lower-case hex. */
export function hashPassword(password: string): string {
    return createHash("sha256").update(password, "utf8").digest("hex");
}

function renderGrant(grant: AclGrant): string {
    return [...grant.commands.map((c) => `+${c}`), ...grant.keys, ...(grant.channels ?? [])].join(" ");
}

/**
 * One user's ACL line. `passwordSha256` is the SHA-256 hex of its password, or of each password it
 * accepts: during a credential rotation a user has two, the current and the previous generation's.
 */
export function renderAclUser(user: AclUserSpec<string>, passwordSha256: string | readonly string[]): string {
    const hashes = typeof passwordSha256 === "string" ? [passwordSha256] : [...passwordSha256];
    if (hashes.length === 0) {
        throw new Error(`ACL user ${user.name}: at least one password hash is needed`);
    }
    for (const hash of hashes) {
        if (!/^[0-9a-f]{64}$/.test(hash)) {
            throw new Error(`ACL user ${user.name}: password hash must be 64 lower-case hex characters (SHA-256)`);
        }
    }
    const [root, ...selectors] = user.grants;
    const parts = [`user ${user.name} reset on ${hashes.map((hash) => `#${hash}`).join(" ")} resetchannels -@all`, renderGrant(root)];
    for (const selector of selectors) {
        parts.push(`(${renderGrant(selector)})`);
    }
    return parts.join(" ");
}

/**
 * An ACL file: the default user off with no rights (R3.1), then one line per user of `users`.
 * `passwordSha256` maps each user to the SHA-256 hex of its password (or passwords, see
 * {@link renderAclUser}); the file never holds a plaintext password.
 */
export function renderUsersAclFile<Name extends string>(
    users: readonly AclUserSpec<Name>[],
    passwordSha256: Record<Name, string | readonly string[]>,
): string {
    const lines = ["user default reset off resetchannels -@all", ...users.map((user) => renderAclUser(user, passwordSha256[user.name]))];
    return `${lines.join("\n")}\n`;
}

/** The ACL file of a single node: the service users `users` (the Molis users by default) and the stack's own. */
export function renderAclFile(
    passwordSha256: Record<AclUserName, string | readonly string[]>,
    users: readonly ServiceUser[] = MOLIS_USERS,
): string {
    return renderUsersAclFile(aclUsersOf(users), passwordSha256);
}

/** Builds a record with one entry per ACL user of `names` (the default users' unless given). */
export function perUser<T>(fn: (user: AclUserName) => T, names: readonly string[] = ACL_USER_NAMES): Record<AclUserName, T> {
    const result: Record<AclUserName, T> = {};
    for (const user of names) {
        result[user] = fn(user);
    }
    return result;
}
