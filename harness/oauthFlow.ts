/**
 * One round of an MCP OAuth gateway's use of its store (seed mcp-oauth-gateway-redis.md), as its
 * `auth` user runs it through ioredis: flow state with a 5-minute TTL, the code exchange, a client
 * registration and its index, an access and a refresh token with their TTLs, the user's token set,
 * session state and its messages. Each round writes keys of its own (`id` in every name) and checks
 * every reply, so a round either did all of it or throws. A command whose reply was lost when the
 * server went away after running it is sent again by ioredis once it reconnects: where that second
 * run answers differently (a DEL of keys already gone, an SADD of a member already there, an RPUSH
 * onto the list it made), the second answer is accepted too.
 */
import type Redis from "ioredis";

/** The keys round `id` leaves behind (the state and the code are consumed by the exchange). */
export function oauthRoundKeys(id: string): string[] {
    return [
        `oauth:client:c${id}`,
        `oauth:token:j${id}`,
        `oauth:refresh:r${id}`,
        `oauth:user_tokens:u${id}`,
        `redis:session:s${id}:state`,
        `redis:session:s${id}:messages`,
    ];
}

/** Throws unless `reply` is the command's answer on its first run or, when given, on a second run. */
function expectReply(step: string, reply: unknown, first: unknown, again: unknown = first): void {
    if (JSON.stringify(reply) !== JSON.stringify(first) && JSON.stringify(reply) !== JSON.stringify(again)) {
        throw new Error(`${step}: expected ${JSON.stringify(first)}, got ${JSON.stringify(reply)}`);
    }
}

export async function oauthRound(valkey: Redis, id: string): Promise<void> {
    const state = JSON.stringify({ client_id: `c${id}`, code_challenge: "x" });
    expectReply("flow state", await valkey.set(`oauth:state:st${id}`, state, "EX", 300), "OK");
    expectReply("read flow state", await valkey.get(`oauth:state:st${id}`), state);
    expectReply("authorization code", await valkey.set(`oauth:code:k${id}`, JSON.stringify({ user_id: `u${id}` }), "EX", 600), "OK");
    expectReply("code exchange", await valkey.del(`oauth:state:st${id}`, `oauth:code:k${id}`), 2, 0);
    expectReply("client registration", await valkey.set(`oauth:client:c${id}`, JSON.stringify({ client_name: "agent" })), "OK");
    expectReply("client index", await valkey.sadd("oauth:client_index", `c${id}`), 1, 0);
    expectReply("client lookup", await valkey.sismember("oauth:client_index", `c${id}`), 1);
    expectReply("access token", await valkey.set(`oauth:token:j${id}`, JSON.stringify({ username: `u${id}` }), "EX", 3600), "OK");
    expectReply("refresh token", await valkey.set(`oauth:refresh:r${id}`, JSON.stringify({ jti: `j${id}` }), "EX", 86400), "OK");
    expectReply("user's token set", await valkey.sadd(`oauth:user_tokens:u${id}`, `j${id}`), 1, 0);
    expectReply("token set TTL", await valkey.expire(`oauth:user_tokens:u${id}`, 86400), 1);
    expectReply("session state", await valkey.set(`redis:session:s${id}:state`, JSON.stringify({ client_id: `c${id}` })), "OK");
    expectReply("session messages", await valkey.rpush(`redis:session:s${id}:messages`, "m1", "m2"), 2, 4);
    expectReply("read messages", await valkey.lrange(`redis:session:s${id}:messages`, 0, -1), ["m1", "m2"], ["m1", "m2", "m1", "m2"]);
}
