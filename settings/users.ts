/**
 * Service users as settings: who a client service connects as, the commands it may run by name,
 * the keys it may touch and the channels it may use, and the checks that keep each one least
 * privilege. Nothing is granted by category: a category (`+@write`, `+@all`) lets in commands
 * nobody listed, and `+@all` includes the ones that administer the ACL itself. Pure code.
 */
import { SUBCOMMANDS, takesKeys, VALKEY_COMMANDS } from "./commands";

/** Key patterns by what the user may do with the keys they match (Valkey glob syntax). */
export interface KeyPatterns {
    readWrite?: string[];
    readOnly?: string[];
    writeOnly?: string[];
}

/** One grant: the commands, on the keys and channels listed. */
export interface ServiceUserGrant {
    /** Command names, lower case; a subcommand as `parent|sub` (`client|setname`). */
    commands: string[];
    keys?: KeyPatterns;
    /** Pub/Sub channel patterns. */
    channels?: string[];
}

/** A service user: its root grant and, optionally, alternative grants (Valkey selectors, OR-ed). */
export interface ServiceUser extends ServiceUserGrant {
    name: string;
    /** What the user is for, said in README and logs. */
    job?: string;
    selectors?: ServiceUserGrant[];
}

/** The users the stack makes for itself: a service user may not take their names. */
export const RESERVED_USER_NAMES = ["default", "healthcheck", "metrics", "replicator", "sentinel", "sentinel-peer", "supervisor"] as const;

/** Why a command is never granted to a service user, by its ACL category or by name. */
const REFUSED_CATEGORIES: ReadonlyArray<[string, string]> = [
    ["admin", "it administers the server (configuration, ACL, replication, persistence, shutdown)"],
    ["scripting", "a script runs commands the allowlist does not show"],
    ["dangerous", "it can stop, expose or empty the whole server"],
];
const REFUSED_BY_NAME: Record<string, string> = {
    keys: "it lists every key name and blocks the server while it does",
    flushall: "it deletes every key",
    flushdb: "it deletes every key",
    monitor: "it shows every other client's commands",
    "client|kill": "it disconnects other clients",
    sync: "it copies the whole data set",
    psync: "it copies the whole data set",
    failover: "it moves the primary",
    replicaof: "it makes the server a replica of another",
    slaveof: "it makes the server a replica of another",
};

/** What a service user's name may be: it names ACL users, files and outputs. */
export const USER_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const PATTERN = /^[^\s~%&()]+$/;

/** What is wrong with the users (each line names the user, the value and the fix), and what is risky. */
export interface UserReview {
    problems: string[];
    warnings: string[];
}

/** The literal part of a glob before its first wildcard. */
function literalPrefix(pattern: string): string {
    const wildcard = pattern.search(/[*?[\\]/);
    return wildcard < 0 ? pattern : pattern.slice(0, wildcard);
}

/** Whether two glob patterns can match one key: one's literal prefix starts the other's. */
function overlap(a: string, b: string): boolean {
    const [pa, pb] = [literalPrefix(a), literalPrefix(b)];
    const exactA = pa === a;
    const exactB = pb === b;
    if (exactA && exactB) {
        return a === b;
    }
    return pa.startsWith(pb) || pb.startsWith(pa);
}

/** Whether every key `pattern` matches is also matched by `by` (a literal prefix and `*`). */
function covers(by: string, pattern: string): boolean {
    const prefix = literalPrefix(by);
    return by === `${prefix}*` && literalPrefix(pattern).startsWith(prefix);
}

/** `by` covers `pattern` and more: an administrator's namespace over a service's part of it. */
function strictlyCovers(by: string, pattern: string): boolean {
    return covers(by, pattern) && !covers(pattern, by);
}

function allPatterns(user: ServiceUser): string[] {
    return [user, ...(user.selectors ?? [])].flatMap((grant) => [
        ...(grant.keys?.readWrite ?? []),
        ...(grant.keys?.readOnly ?? []),
        ...(grant.keys?.writeOnly ?? []),
    ]);
}

function grantsScan(user: ServiceUser): boolean {
    return [user, ...(user.selectors ?? [])].some((grant) => (grant.commands ?? []).includes("scan"));
}

function writePatterns(grant: ServiceUserGrant): string[] {
    return [...(grant.keys?.readWrite ?? []), ...(grant.keys?.writeOnly ?? [])];
}

function reviewGrant(where: string, grant: ServiceUserGrant, problems: string[]): void {
    if (!Array.isArray(grant.commands) || grant.commands.length === 0) {
        problems.push(`${where}: no commands; list the commands the service runs by name, such as ["get", "set"]`);
        return;
    }
    const patterns = [...(grant.keys?.readWrite ?? []), ...(grant.keys?.readOnly ?? []), ...(grant.keys?.writeOnly ?? [])];
    for (const raw of grant.commands) {
        const command = String(raw);
        if (/^[+-]?@/.test(command) || ["allcommands", "+@all", "nocommands"].includes(command.toLowerCase())) {
            problems.push(
                `${where}: command ${JSON.stringify(command)} grants a category; categories let in commands nobody listed (+@all includes ACL itself): list each command by name`,
            );
            continue;
        }
        const name = command.toLowerCase();
        if (name !== command) {
            problems.push(`${where}: command ${JSON.stringify(command)}: write command names in lower case (${JSON.stringify(name)})`);
            continue;
        }
        const spec = VALKEY_COMMANDS.get(name);
        if (spec === undefined) {
            const subcommands = SUBCOMMANDS.get(name);
            problems.push(
                subcommands === undefined
                    ? `${where}: command ${JSON.stringify(command)} is not a Valkey 8 command: check its spelling against COMMAND (settings/commandTable.json)`
                    : `${where}: command ${JSON.stringify(command)} has subcommands: grant the ones the service needs by name (${subcommands.slice(0, 4).join(", ")}, ...)`,
            );
            continue;
        }
        const byName = REFUSED_BY_NAME[name];
        const byCategory = REFUSED_CATEGORIES.find(([category]) => spec.categories.includes(category));
        if (byName !== undefined || byCategory !== undefined) {
            problems.push(`${where}: command ${JSON.stringify(command)} is never granted to a service user: ${byName ?? byCategory?.[1]}`);
            continue;
        }
        if (takesKeys(spec) && patterns.length === 0) {
            problems.push(
                `${where}: command ${JSON.stringify(command)} works on keys but the grant names none: add the key patterns it may use`,
            );
        }
    }
    for (const [kind, list] of Object.entries(grant.keys ?? {}) as Array<[keyof KeyPatterns, string[] | undefined]>) {
        for (const pattern of list ?? []) {
            if (typeof pattern !== "string" || !PATTERN.test(pattern)) {
                problems.push(
                    `${where}: keys.${kind} ${JSON.stringify(pattern)}: write a key glob such as "oauth:*", without spaces, ~, %, & or parentheses`,
                );
            } else if (kind !== "readOnly" && /^\*+$/.test(pattern)) {
                problems.push(
                    `${where}: keys.${kind} ${JSON.stringify(pattern)} lets the user write every key: give it a prefix of its own, such as "cache:*"`,
                );
            }
        }
    }
    for (const channel of grant.channels ?? []) {
        if (typeof channel !== "string" || !PATTERN.test(channel)) {
            problems.push(`${where}: channel ${JSON.stringify(channel)}: write a channel glob such as "events:*"`);
        }
    }
}

/** Reviews the service users: every problem at once, and the warnings. */
export function reviewUsers(users: readonly ServiceUser[]): UserReview {
    const problems: string[] = [];
    const warnings: string[] = [];
    const seen = new Set<string>();
    users.forEach((user, index) => {
        const name = typeof user?.name === "string" ? user.name : "";
        const where = `users[${index}]${name === "" ? "" : ` (${name})`}`;
        if (!USER_NAME.test(name)) {
            problems.push(
                `${where}: name ${JSON.stringify(user?.name)}: use 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit`,
            );
        } else if ((RESERVED_USER_NAMES as readonly string[]).includes(name)) {
            problems.push(
                `${where}: name ${JSON.stringify(name)} is the stack's own user (${RESERVED_USER_NAMES.join(", ")} are reserved): choose another name`,
            );
        } else if (seen.has(name)) {
            problems.push(`${where}: name ${JSON.stringify(name)} is given twice: each user needs a name of its own`);
        }
        seen.add(name);
        reviewGrant(where, user, problems);
        (user.selectors ?? []).forEach((selector, selectorIndex) =>
            reviewGrant(`${where}.selectors[${selectorIndex}]`, selector, problems),
        );
    });
    // SCAN lists every key name whatever the user's patterns: harmless where the user's patterns
    // cover every other user's keys (Molis's admin over molis:*), a leak in a store shared by services.
    for (const user of users.filter(grantsScan)) {
        const mine = allPatterns(user);
        const outside = users
            .filter((other) => other !== user)
            .flatMap((other) =>
                allPatterns(other)
                    .filter((pattern) => !mine.some((by) => covers(by, pattern)))
                    .map((pattern) => `${other.name}: ${pattern}`),
            );
        if (outside.length > 0) {
            warnings.push(
                `users: ${user.name} may run scan, which lists every key name in the store, also keys it has no pattern for (${outside.join(", ")}): grant scan only to a user whose patterns cover the store`,
            );
        }
    }
    for (let i = 0; i < users.length; i++) {
        for (let j = i + 1; j < users.length; j++) {
            const mine = [users[i], ...(users[i].selectors ?? [])].flatMap(writePatterns);
            const theirs = [users[j], ...(users[j].selectors ?? [])].flatMap(writePatterns);
            // A user whose pattern covers the other's keys whole administers them (Molis's admin over
            // molis:*): by design. Two services writing into each other's keys in part is not.
            const shared = mine.flatMap((a) =>
                theirs.filter((b) => overlap(a, b) && !strictlyCovers(a, b) && !strictlyCovers(b, a)).map((b) => `${a} / ${b}`),
            );
            if (shared.length > 0) {
                warnings.push(
                    `users: ${users[i].name} and ${users[j].name} may both write the same keys (${shared.join(", ")}): one service's bug can then damage the other's data`,
                );
            }
        }
    }
    return { problems, warnings };
}
