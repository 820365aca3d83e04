/**
 * The users of a replicated set: on the data nodes the service users (who may also WAIT for their
 * writes to reach a replica) and the set's own users for replication, Sentinel and the nodes'
 * supervisors; on the Sentinels a separate ACL file with only what each caller sends. Every user is
 * an allowlist; the integration suite sweeps each over the server's whole COMMAND table. Pure code.
 *
 * What each internal user needs was read from Valkey's sources and confirmed by an empty ACL LOG
 * through failovers: a replica sends PSYNC, REPLCONF and PING to its primary; a Sentinel sends PING,
 * INFO, the hello channel, CLIENT SETNAME and, for a failover, one transaction of MULTI, SLAVEOF,
 * CONFIG REWRITE, CLIENT KILL, EXEC (SCRIPT KILL when a node is busy); Sentinels talk to each other
 * with PING, the hello channel, CLIENT SETNAME and SENTINEL IS-MASTER-DOWN-BY-ADDR.
 */
import { MOLIS_USERS } from "../settings/molisUsers";
import { VALKEY_COMMANDS } from "../settings/commands";
import { ServiceUser } from "../settings/users";
import { aclUsersOf, AclGrant, AclUserName, AclUserSpec } from "./acl";

/** The set's own users: they never appear in the outputs, and have no client certificate of their own. */
export const INTERNAL_USER_NAMES = ["replicator", "sentinel", "sentinel-peer", "supervisor"] as const;
export type InternalUserName = (typeof INTERNAL_USER_NAMES)[number];

/** Every user with a password in a replicated set. */
export type SetUserName = AclUserName | InternalUserName;

/** The Sentinels' hello channel, where they announce themselves through the nodes and to each other. */
export const HELLO_CHANNEL = "__sentinel__:hello";

/** The channel Sentinels announce a new primary on; clients subscribe to it to follow a failover. */
export const SWITCH_MASTER_CHANNEL = "+switch-master";

/** The service users that write data (any command Valkey flags as a write); in a replicated set they may WAIT until a replica has their writes. */
export function writersOf(users: readonly ServiceUser[]): string[] {
    return users
        .filter((user) =>
            [user, ...(user.selectors ?? [])].some((grant) =>
                grant.commands.some((command) => VALKEY_COMMANDS.get(command)?.flags.includes("write")),
            ),
        )
        .map((user) => user.name);
}

/** The service users on a data node of a replicated set: as on a single node, with WAIT for the writers. */
export function replicatedServiceUsers(users: readonly ServiceUser[]): AclUserSpec[] {
    const writers = writersOf(users);
    return aclUsersOf(users).map((user) => {
        if (!writers.includes(user.name)) {
            return user;
        }
        const [root, ...selectors] = user.grants;
        return { ...user, grants: [{ ...root, commands: [...root.commands, "wait"] }, ...selectors] };
    });
}

/** The default (Molis) service users on a data node of a replicated set. */
export const REPLICATED_SERVICE_USERS: readonly AclUserSpec[] = replicatedServiceUsers(MOLIS_USERS);

const keyless = (commands: readonly string[], channels?: readonly string[]): AclGrant => ({
    commands,
    keys: [],
    ...(channels ? { channels } : {}),
});

/** The set's own users on a data node. */
export const NODE_INTERNAL_USERS: readonly AclUserSpec<InternalUserName>[] = [
    {
        name: "replicator",
        job: "a replica's link to its primary (primaryuser): the replication handshake and stream",
        grants: [keyless(["ping", "psync", "replconf"])],
    },
    {
        name: "sentinel",
        job: "the Sentinels watching the node, and the failover transaction they send",
        grants: [
            keyless(
                [
                    "ping",
                    "info",
                    "publish",
                    "subscribe",
                    "client|setname",
                    "client|kill",
                    "multi",
                    "exec",
                    "slaveof",
                    "replicaof",
                    "config|rewrite",
                    "script|kill",
                ],
                [`&${HELLO_CHANNEL}`],
            ),
        ],
    },
    {
        name: "supervisor",
        job: "the node's own supervisor: its role, and pausing writes for a coordinated switchover",
        grants: [keyless(["ping", "info", "client|pause", "client|unpause"])],
    },
];

/** Every user of a data node's ACL file in a replicated set. */
export function replicatedNodeUsers(users: readonly ServiceUser[]): AclUserSpec<SetUserName>[] {
    return [...replicatedServiceUsers(users), ...NODE_INTERNAL_USERS];
}

/** The default users of a data node's ACL file in a replicated set. */
export const REPLICATED_NODE_USERS: readonly AclUserSpec<SetUserName>[] = replicatedNodeUsers(MOLIS_USERS);

/**
 * The users of the Sentinels' ACL file. Every service user may only find the primary and follow its
 * changes (what a client in Sentinel mode sends; CLIENT SETINFO labels the connection, as ioredis
 * does on every connection); the health check reads the Sentinel's view; the supervisor asks for a
 * coordinated failover; Sentinels talk to each other as `sentinel-peer`.
 */
export function sentinelUsers(users: readonly ServiceUser[]): AclUserSpec<SetUserName>[] {
    return [
        ...users.map(({ name }): AclUserSpec<SetUserName> => ({
            name,
            job: "finds the primary and follows a failover (a client in Sentinel mode)",
            grants: [
                keyless(
                    ["ping", "sentinel|get-master-addr-by-name", "sentinel|sentinels", "subscribe", "client|setinfo"],
                    [`&${SWITCH_MASTER_CHANNEL}`],
                ),
            ],
        })),
        {
            name: "healthcheck",
            job: "the Sentinel's health: the primary it sees, whether a quorum can be reached, and its statistics",
            grants: [
                keyless(["ping", "info", "sentinel|master", "sentinel|replicas", "sentinel|ckquorum", "sentinel|get-master-addr-by-name"]),
            ],
        },
        {
            name: "supervisor",
            job: "a node's supervisor: who is primary, what the Sentinels see of it and its replicas, and a coordinated failover before the primary stops",
            grants: [keyless(["ping", "sentinel|get-master-addr-by-name", "sentinel|master", "sentinel|replicas", "sentinel|failover"])],
        },
        {
            name: "sentinel-peer",
            job: "one Sentinel talking to another: hello messages and the vote on a failover",
            grants: [keyless(["ping", "publish", "client|setname", "sentinel|is-master-down-by-addr"], [`&${HELLO_CHANNEL}`])],
        },
    ];
}

/** The Sentinels' ACL file's users with the default (Molis) service users. */
export const SENTINEL_USERS: readonly AclUserSpec<SetUserName>[] = sentinelUsers(MOLIS_USERS);

/**
 * Commands renamed away on a data node of a replicated set: as on a single node, but CONFIG,
 * SLAVEOF and REPLICAOF stay (fenced by the ACL: only the sentinel user has them), because
 * Sentinel's failover transaction sends them and a renamed one makes its EXEC fail for ever.
 */
export const REPLICATED_KEPT_COMMANDS = ["CONFIG", "SLAVEOF", "REPLICAOF"] as const;
