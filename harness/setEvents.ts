/**
 * Failover scenarios on a replicated set run as processes (harness/setProcesses.ts), shared by the
 * real-server suite, which asserts on them, and the benchmark, which measures them: a fresh settled
 * set, the primary the Sentinels name, a client in Sentinel mode with README's settings, and a
 * writer running through an event until the set has settled again.
 */
import { waitUntil } from "../lib/poll";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createValkeyClient } from "../lib/client";
import Redis from "ioredis";
import { SettingsInput } from "../settings";
import { AclUserName } from "../valkey/acl";
import { LocalSet, renderLocalSet } from "./localSet";
import { memberClient, RunningMember, RunningSet, startSet, waitSettled } from "./setProcesses";
import { startWriter, WriterOutcome, writerOutcome } from "./setWriter";

/** Writes before and after an event: enough to see the writer run on either side of it. */
const WRITES_AROUND = 50;

export { waitUntil };

/** A fresh set in `dir` (new; two replicas, three Sentinels unless `input` says otherwise), settled. */
export async function freshSet(dir: string, input: SettingsInput = {}): Promise<RunningSet> {
    const local = await renderLocalSet(dir, { replicas: 2, sentinels: 3, ...input });
    const running = await startSet(local);
    try {
        await waitSettled(running);
    } catch (error) {
        await running.stopAll();
        throw error;
    }
    return running;
}

/** The member the first Sentinel names the primary. */
export async function primaryOf(running: RunningSet): Promise<RunningMember> {
    const client = memberClient(running.local, running.local.sentinels[0].port);
    try {
        const [, port] = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", running.local.set.primaryName)) as [string, string];
        return [...running.members.values()].find((member) => member.member.port === Number(port)) as RunningMember;
    } finally {
        client.disconnect();
    }
}

/**
 * A service user's four files in one folder, as a client service has them mounted (ca.crt,
 * `<user>.crt`, `<user>.key`, `<user>.password`); a local set keeps its own in several.
 */
function clientFolder(local: LocalSet, user: AclUserName): string {
    const dir = join(local.dir, "clients", user);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyFileSync(local.caCert, join(dir, "ca.crt"));
    copyFileSync(local.userCert(user), join(dir, `${user}.crt`));
    copyFileSync(local.userKey(user), join(dir, `${user}.key`));
    writeFileSync(join(dir, `${user}.password`), local.passwords[user], { mode: 0o600 });
    return dir;
}

/** A client in Sentinel mode as a service makes it (the package's client module), as a service user. */
export function serviceClient(local: LocalSet, user: AclUserName): Redis {
    const client = createValkeyClient({
        user,
        secretsDir: clientFolder(local, user),
        sentinels: local.sentinels.map(({ host, port }) => ({ host, port })),
        primaryName: local.set.primaryName,
        // The members' certificates name localhost; the set is dialled at 127.0.0.1.
        servername: "localhost",
    });
    client.on("error", () => undefined);
    return client;
}

export interface EventRun {
    running: RunningSet;
    outcome: WriterOutcome;
    /** The primary when the event came. */
    before: RunningMember;
}

/**
 * A fresh set in `join(work, name)`, a writer on README's settings, `event` on the primary after
 * 50 acknowledged writes, the set settled again, 50 more writes, and what the writer saw. The
 * caller stops the set (`running.stopAll()`); on an error it is stopped here.
 */
export async function throughEvent(
    work: string,
    name: string,
    event: (running: RunningSet, primary: RunningMember) => Promise<void>,
): Promise<EventRun> {
    const running = await freshSet(join(work, name));
    const before = await primaryOf(running);
    const writerClient = serviceClient(running.local, "mcp-agent");
    const reader = serviceClient(running.local, "mcp-admin");
    try {
        const writer = startWriter(writerClient, name);
        await waitUntil(
            () => writer.records().filter((r) => r.ok).length >= WRITES_AROUND,
            10000,
            `${WRITES_AROUND} writes before the event`,
        );
        await event(running, before);
        await waitSettled(running, 60000);
        const written = writer.records().length;
        await waitUntil(() => writer.records().length >= written + WRITES_AROUND, 20000, `${WRITES_AROUND} writes after the set settled`);
        const outcome = await writerOutcome(await writer.stop(), reader);
        return { running, outcome, before };
    } catch (error) {
        await running.stopAll();
        throw error;
    } finally {
        writerClient.disconnect();
        reader.disconnect();
    }
}
