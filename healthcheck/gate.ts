/**
 * valkey-gate: a short-lived container of a replicated set's rollout (R13.5). It waits until the
 * members it names pass their check (`serving`: playing their role; `healthy`: the containers'
 * verdict), then exits 0; or exits 1 after its timeout, naming the member and its last verdict. The
 * next member is replaced only after the gate before it has passed, so `pulumi up` replaces the
 * set one member at a time, each in service before the next stops.
 *
 * Its settings: the health check's (credentials from the secrets volume it mounts read-only), and
 * MOLIS_GATE_TARGETS (`role:host:port` separated by commas), MOLIS_GATE_DEPTH, MOLIS_GATE_TIMEOUT_SECONDS.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { readFileSync } from "node:fs";
import { CheckDepth, HealthSettings, isVerdict, readHealthSettings, Verdict } from "./checks";
import { checkMember, withConnection } from "./probe";
import { majority } from "../settings/names";
import { GATE_ENV, IMAGE_PATHS, MemberRole, SUPERVISOR_ENV } from "../valkey/contract";
import { parseInfo } from "../valkey/info";
import { SetDescription } from "../valkey/sentinelConf";
import { replicaList } from "../valkey/sentinelView";

interface Target {
    role: MemberRole;
    host: string;
    port: number;
}

function parseTargets(text: string): Target[] {
    return text
        .split(",")
        .filter(Boolean)
        .map((item) => {
            const [role, host, port] = item.split(":");
            if ((role !== "node" && role !== "sentinel") || !host || !/^\d+$/.test(port ?? "")) {
                throw new Error(`${GATE_ENV.targets}: ${JSON.stringify(item)} is not role:host:port`);
            }
            return { role, host, port: Number(port) };
        });
}

/**
 * Whether a data node is one the Sentinels can fail over to, or from: the primary, or a replica a
 * majority of them lists. Sentinel learns a primary's replicas from its INFO every 10 s; a failover
 * before that leaves an unknown replica pointing at the old primary for ever, so a rollout waits.
 */
async function knownToSentinels(base: HealthSettings, target: Target): Promise<boolean> {
    const role = await withConnection({ ...base, ...target }, async (client) =>
        parseInfo(String(await client.info("replication"))).get("role"),
    );
    if (role === "master") {
        return true;
    }
    const set = JSON.parse(readFileSync(process.env[SUPERVISOR_ENV.setFile] || IMAGE_PATHS.setDescription, "utf8")) as SetDescription;
    const listings = await Promise.all(
        set.sentinels.map((sentinel) =>
            withConnection({ ...base, role: "sentinel", host: sentinel.host, port: sentinel.port }, async (client) =>
                replicaList(await client.call("SENTINEL", "REPLICAS", set.primaryName)),
            ).catch(() => []),
        ),
    );
    const listing = listings.filter((replicas) =>
        replicas.some(
            (fields) =>
                fields.get("ip") === target.host && fields.get("port") === String(target.port) && !/down/.test(fields.get("flags") ?? ""),
        ),
    );
    return listing.length >= majority(set.sentinels.length);
}

async function main(): Promise<number> {
    const base = readHealthSettings(process.env);
    if (isVerdict(base)) {
        process.stdout.write(`${base.line}\n`);
        return 1;
    }
    const targets = parseTargets(process.env[GATE_ENV.targets] ?? "");
    const depth: CheckDepth = process.env[GATE_ENV.depth] === "healthy" ? "healthy" : "serving";
    const deadline = Date.now() + Number(process.env[GATE_ENV.timeoutSeconds] ?? 120) * 1000;
    const started = Date.now();
    for (const target of targets) {
        let verdict: Verdict;
        for (;;) {
            verdict = await checkMember({ ...base, ...target }, depth);
            if (verdict.exitCode === 0 && target.role === "node" && !(await knownToSentinels(base, target).catch(() => false))) {
                verdict = { line: "not yet listed by a majority of the Sentinels", exitCode: 1 };
            }
            if (verdict.exitCode === 0 || Date.now() > deadline) {
                break;
            }
            await sleep(500);
        }
        const name = `${target.role} ${target.host}:${target.port}`;
        if (verdict.exitCode !== 0) {
            process.stdout.write(`gate: ${name} is not ${depth} after ${Math.round((Date.now() - started) / 1000)} s: ${verdict.line}\n`);
            return 1;
        }
        process.stdout.write(`gate: ${name} is ${depth} (${Date.now() - started} ms)\n`);
    }
    return 0;
}

main().then(
    (code) => process.exit(code),
    (error: unknown) => {
        process.stdout.write(`gate: ${(error as Error).message}\n`);
        process.exit(1);
    },
);
