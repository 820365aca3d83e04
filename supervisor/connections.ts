/**
 * The supervisors' connections: TLS with the member's clientAuth certificate, as the supervisor
 * user, to its own node or to the Sentinels. Each is short-lived and bounded in time.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { readFileSync } from "node:fs";
import Redis from "ioredis";
import { isIpv4 } from "../settings/formats";
import { SupervisorSettings } from "../valkey/contract";
import { SetDescription, SetMember } from "../valkey/sentinelConf";
import { InstanceFields, replicaList, sentinelFields } from "../valkey/sentinelView";
import { Address, primaryFromAnswers } from "../valkey/topology";

const TIMEOUT_MS = 2000;

/** The supervisor's credentials, read once from its files. */
export interface Credentials {
    password: string;
    ca: Buffer;
    cert: Buffer;
    key: Buffer;
}

export function readCredentials(settings: SupervisorSettings): Credentials {
    return {
        password: readFileSync(settings.supervisorPasswordFile, "utf8").trim(),
        ca: readFileSync(settings.tlsCa),
        cert: readFileSync(settings.tlsPeerCert),
        key: readFileSync(settings.tlsPeerKey),
    };
}

export function readSet(settings: SupervisorSettings): SetDescription {
    return JSON.parse(readFileSync(settings.setFile, "utf8")) as SetDescription;
}

/** A connection as the supervisor user; the caller disconnects it. */
export function connectAs(credentials: Credentials, address: Address): Redis {
    const client = new Redis({
        host: address.host,
        port: address.port,
        username: "supervisor",
        password: credentials.password,
        // SNI takes a name, never an address (RFC 6066); with an address the certificate's IP entry is checked.
        tls: {
            ca: credentials.ca,
            cert: credentials.cert,
            key: credentials.key,
            minVersion: "TLSv1.2",
            ...(isIpv4(address.host) ? {} : { servername: address.host }),
        },
        connectTimeout: TIMEOUT_MS,
        commandTimeout: TIMEOUT_MS,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableReadyCheck: false,
        lazyConnect: true,
        disableClientInfo: true,
    });
    client.on("error", () => undefined);
    return client;
}

/** Runs one command on a fresh connection and closes it. */
export async function ask(credentials: Credentials, address: Address, command: string[]): Promise<unknown> {
    const client = connectAs(credentials, address);
    try {
        await client.connect();
        return await client.call(command[0], ...command.slice(1));
    } finally {
        client.disconnect();
    }
}

/** Each Sentinel's answer to `command` (undefined where one does not answer). */
async function askEachSentinel(credentials: Credentials, set: SetDescription, command: string[]): Promise<unknown[]> {
    return Promise.all(set.sentinels.map((sentinel) => ask(credentials, sentinel, command).catch(() => undefined)));
}

/** What each Sentinel says the primary is (undefined where one does not answer). */
export async function sentinelAnswers(credentials: Credentials, set: SetDescription): Promise<Array<Address | undefined>> {
    const replies = await askEachSentinel(credentials, set, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", set.primaryName]);
    return replies.map((reply) => (Array.isArray(reply) ? { host: String(reply[0]), port: Number(reply[1]) } : undefined));
}

/** The primary a majority of the Sentinels name, or undefined. */
export async function primaryByMajority(credentials: Credentials, set: SetDescription): Promise<Address | undefined> {
    return primaryFromAnswers(await sentinelAnswers(credentials, set), set.sentinels.length);
}

/** The replicas each Sentinel lists (SENTINEL REPLICAS), undefined where one does not answer. */
export async function sentinelReplicas(credentials: Credentials, set: SetDescription): Promise<Array<InstanceFields[] | undefined>> {
    const replies = await askEachSentinel(credentials, set, ["SENTINEL", "REPLICAS", set.primaryName]);
    return replies.map((reply) => (reply === undefined ? undefined : replicaList(reply)));
}

/** What each Sentinel says of the primary (SENTINEL MASTER), undefined where one does not answer. */
export async function sentinelPrimaries(credentials: Credentials, set: SetDescription): Promise<Array<InstanceFields | undefined>> {
    const replies = await askEachSentinel(credentials, set, ["SENTINEL", "MASTER", set.primaryName]);
    return replies.map((reply) => (reply === undefined ? undefined : sentinelFields(reply)));
}

/** This member in the set's description, or an error naming what the set has. */
export function memberOf(members: SetMember[], name: string): SetMember {
    const member = members.find((candidate) => candidate.name === name);
    if (member === undefined) {
        throw new Error(`${name} is not in the set (${members.map((m) => m.name).join(", ")})`);
    }
    return member;
}

export { sleep };

/** One line on stdout (the container's log), with the member's name and the time. */
export function log(member: string, line: string): void {
    process.stdout.write(`${new Date().toISOString()} supervisor ${member}: ${line}\n`);
}
