/**
 * The Molis gateway's service users, the default of the `users` setting. Key data model (README,
 * "Data contract"):
 * - `molis:blocked:{id}`: string (JSON), no TTL, created once, never changed by the agent.
 * - `molis:approved:{id}`: string with a TTL (the agent writes `SET ... EX 300` for auto-approvals).
 * - `molis:config:*`: auto-approve rules, strings or hashes, managed by the admin.
 * - `molis:log:events`: sorted set scored by Unix time.
 */
import type { ServiceUser } from "./users";

/** Key names and patterns of the Molis data model. */
export const MOLIS_KEYS = {
    blocked: "molis:blocked:*",
    approved: "molis:approved:*",
    config: "molis:config:*",
    events: "molis:log:events",
    all: "molis:*",
} as const;

export const MOLIS_USERS: readonly ServiceUser[] = [
    {
        name: "mcp-agent",
        job: "queues blocked requests (create-only), writes and reads approvals, reads auto-approve rules",
        // SETNX creates a blocked request but can never overwrite one; no delete, expire, rename,
        // GETEX or SET on blocked keys (R7: blocked requests are never lost).
        commands: ["ping", "setnx", "get", "exists"],
        keys: { readWrite: [MOLIS_KEYS.blocked] },
        selectors: [
            { commands: ["set", "get", "exists", "ttl", "pttl"], keys: { readWrite: [MOLIS_KEYS.approved] } },
            { commands: ["get", "mget", "exists", "hget", "hmget", "hgetall"], keys: { readOnly: [MOLIS_KEYS.config] } },
        ],
    },
    {
        name: "mcp-admin",
        job: "reviews the queue, approves or rejects, manages auto-approve rules, reads and trims the event log",
        commands: [
            "ping",
            // strings and keyspace
            "get",
            "mget",
            "set",
            "setnx",
            "exists",
            "del",
            "unlink",
            "expire",
            "pexpire",
            "persist",
            "ttl",
            "pttl",
            "type",
            "scan",
            // hashes (rules)
            "hget",
            "hmget",
            "hgetall",
            "hset",
            "hdel",
            "hexists",
            "hkeys",
            "hlen",
            // sorted sets (event log)
            "zadd",
            "zcard",
            "zcount",
            "zrange",
            "zrangebyscore",
            "zrevrangebyscore",
            "zrem",
            "zremrangebyscore",
            "zscore",
            // transactions for approve-and-remove in one step
            "multi",
            "exec",
            "discard",
            "watch",
            "unwatch",
        ],
        keys: { readWrite: [MOLIS_KEYS.all] },
    },
    {
        name: "log-writer",
        job: "appends security events to the event log and reads it back (R3.4)",
        commands: ["ping", "zadd", "zrangebyscore", "zcard"],
        keys: { readWrite: [MOLIS_KEYS.events] },
    },
];
