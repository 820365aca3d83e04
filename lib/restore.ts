/**
 * `npm run restore` (commands/restore.ts): checks every file's SHA-256 against the manifest before
 * touching anything, puts the files next to the current ones in every data node's volume as the
 * valkey user, stops the nodes (replicas first, so the primary stops with no one to hand over to),
 * swaps the files in by renames, starts the primary, waits until every Sentinel sees it up, starts
 * the replicas and waits until all are healthy. If they do not come up, the previous files go back
 * in every volume and the nodes start on them: no volume is left half-written.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createReadStream, existsSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Docker from "dockerode";
import { extract, pack } from "tar-stream";
import { DATA_DIR, PERSISTENCE_FILES } from "../valkey/contract";
import { keyCountOf } from "../valkey/info";
import {
    BackupError,
    BackupManifest,
    DATA_PREFIX,
    FileDigest,
    foreignUsersNote,
    layoutChange,
    MANIFEST_NAME,
    verifyBackup,
} from "./backupFormat";
import { Deployed, info, locate, Node, roleOf } from "./deployedData";
import { exec, memberCli, waitHealthy } from "./docker";
import { pollFor } from "./poll";

/** Reads a backup file, hashing every data file, and checks it against its manifest. */
async function readBackup(file: string): Promise<BackupManifest> {
    if (!existsSync(file)) {
        throw new BackupError(`${file} does not exist. Nothing was changed.`);
    }
    const found = new Map<string, { size: number; sha256: string }>();
    let manifestText: string | undefined;
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
        const chunks: Buffer[] = [];
        const digest = new FileDigest();
        stream.on("data", (data: unknown) => {
            const chunk = data as Buffer;
            digest.update(chunk);
            if (header.name === MANIFEST_NAME) {
                chunks.push(chunk);
            }
        });
        stream.on("end", () => {
            if (header.name === MANIFEST_NAME) {
                manifestText = Buffer.concat(chunks).toString("utf8");
            } else {
                found.set(header.name, { size: digest.size, sha256: digest.digest() });
            }
            next();
        });
    });
    try {
        await pipeline(createReadStream(file), reader);
    } catch (error) {
        throw new BackupError(
            `${file} cannot be restored: it is not a readable tar file (${(error as Error).message}). Nothing was changed.`,
        );
    }
    return verifyBackup(file, manifestText, found);
}

/**
 * The backup's data files, as a tar of paths relative to the target folder, owned by uid:gid. The
 * AOF folder gets an entry of its own, so that it too is the valkey user's (moving a folder to
 * another parent needs write access to it).
 */
function restoreArchive(file: string, uid: number, gid: number): Readable {
    const out = pack();
    const folders = new Set<string>();
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
        if (header.name === MANIFEST_NAME || !header.name.startsWith(DATA_PREFIX)) {
            stream.on("end", next);
            stream.resume();
            return;
        }
        const name = header.name.slice(DATA_PREFIX.length);
        const folder = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : undefined;
        if (folder !== undefined && !folders.has(folder)) {
            folders.add(folder);
            out.entry({ name: `${folder}/`, type: "directory", mode: 0o700, uid, gid, mtime: new Date() });
        }
        const entry = out.entry({ name, size: header.size, mode: 0o600, uid, gid, mtime: header.mtime });
        pipeline(stream, entry).then(() => next(), next);
    });
    pipeline(createReadStream(file), reader).then(
        () => out.finalize(),
        (error: Error) => out.destroy(error),
    );
    return out as unknown as Readable;
}

/** The persistence files Valkey reads at start, at the top of the data volume. */
const PERSISTENCE = `${PERSISTENCE_FILES.aofDir} ${PERSISTENCE_FILES.rdb}`;

/** Moves the persistence files from one folder of the volume to another (each move a rename). */
function moveScript(from: string, to: string): string {
    return `for f in ${PERSISTENCE}; do if [ -e ${from}/$f ]; then mv ${from}/$f ${to}/; fi; done`;
}

export interface RestoreResult {
    manifest: BackupManifest;
    keyCount: number;
}

/** A node's data volume held by a helper container while the restored files are staged and swapped. */
interface Held {
    node: Node;
    helper: Docker.Container;
    /** Runs a shell script as the valkey user beside the volume; resolves with what it printed. */
    run: (script: string) => Promise<string>;
}

/**
 * A helper on the stack's own image, as the image's (valkey) user, with no network and no
 * capability, holding one node's data volume.
 */
async function holdVolume(deployed: Deployed, node: Node): Promise<Held> {
    const helper = await node.engine.createContainer({
        Image: deployed.imageName,
        Entrypoint: ["sleep"],
        Cmd: ["3600"],
        Labels: { "org.molis.stack": deployed.stack, "org.molis.role": "restore" },
        HostConfig: {
            Binds: [`${node.dataVolumeName}:${DATA_DIR}`],
            NetworkMode: "none",
            CapDrop: ["ALL"],
            SecurityOpt: ["no-new-privileges:true"],
            ReadonlyRootfs: true,
        },
    });
    const run = async (script: string): Promise<string> => {
        const result = await exec(helper, ["sh", "-c", script]);
        if (result.code !== 0) {
            throw new BackupError(`restore step failed in ${node.dataVolumeName} (${script}): ${result.stdout}${result.stderr}`);
        }
        return result.stdout;
    };
    await helper.start();
    return { node, helper, run };
}

async function stopContainer(container: Docker.Container): Promise<void> {
    await container.stop({ t: 30 }).catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 304) {
            throw error; // 304: already stopped
        }
    });
}

/** Runs a container's own health check inside it now, rather than waiting for the engine's next one. */
async function healthyNow(container: Docker.Container): Promise<boolean> {
    const test = (await container.inspect()).Config.Healthcheck?.Test ?? [];
    const command = test[0] === "CMD-SHELL" ? ["sh", "-c", test.slice(1).join(" ")] : test.slice(1);
    return command.length > 0 && (await exec(container, command)).code === 0;
}

/**
 * Waits until every Sentinel sees the primary up again and a quorum can be reached, so that no
 * Sentinel still counts it down when the replicas come back (a failover then could promote one).
 */
async function waitSentinelsSeePrimary(deployed: Deployed, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (const sentinel of deployed.sentinels) {
        while (!(await healthyNow(sentinel.container))) {
            if (Date.now() > deadline) {
                throw new Error(`the Sentinel ${sentinel.containerName} did not see the primary up within ${timeoutSeconds} s`);
            }
            await sleep(500);
        }
    }
}

/**
 * Restarts each Sentinel in turn, each once it answers again. While every node was stopped, the
 * Sentinels counted the primary down and tried a failover with no replica to promote; a Sentinel
 * that tried (or voted) holds off the next failover of the set for twice failoverTimeoutMilliseconds,
 * in memory only. Restarted, they can fail the restored set over at once; the others keep a majority.
 */
async function restartSentinels(deployed: Deployed, log: (line: string) => void): Promise<void> {
    for (const sentinel of deployed.sentinels) {
        log(`restarting ${sentinel.containerName}, so that the set can fail over at once`);
        await sentinel.container.restart({ t: 10 });
        let said = "";
        await pollFor(
            () => `${sentinel.containerName} to see the primary up and a quorum again (it said: ${said})`,
            60000,
            async () => {
                const ask = (args: string[]): Promise<string> =>
                    memberCli(sentinel.container, sentinel.port, ["SENTINEL", ...args, deployed.primaryName]).then(
                        (result) => `${result.stdout}${result.stderr}`.trim(),
                        (error: Error) => error.message,
                    );
                const flags = /(?:^|\n)flags\n([^\n]*)/.exec(await ask(["MASTER"]))?.[1];
                said = `flags ${flags ?? "(none)"}; ${await ask(["CKQUORUM"])}`;
                return flags === "master" && said.includes("; OK");
            },
            200,
        );
    }
}

/** Starts the nodes in the order given: the first (the primary) alone, and the others once every Sentinel sees it up. */
async function startNodes(deployed: Deployed, starts: Node[], log: (line: string) => void): Promise<void> {
    const [first, ...rest] = starts;
    log(`starting ${first.containerName}`);
    await first.container.start();
    if (deployed.replicated) {
        await waitSentinelsSeePrimary(deployed, 120);
        for (const node of rest) {
            log(`starting ${node.containerName}`);
            await node.container.start();
        }
    }
}

/** The order to stop nodes in: replicas first, so that the primary stops with none to hand over to. */
async function stopOrder(deployed: Deployed, log: (line: string) => void): Promise<Node[]> {
    if (!deployed.replicated) {
        return deployed.nodes;
    }
    const roles = new Map<Node, string>();
    for (const node of deployed.nodes) {
        const running = (await node.container.inspect()).State.Running;
        roles.set(node, running ? (await roleOf(node).catch(() => ({ role: "unknown" }))).role : "stopped");
    }
    log(
        `the set's nodes: ${deployed.nodes.map((node) => `${node.containerName} (${roles.get(node) === "slave" ? "replica" : roles.get(node) === "master" ? "primary" : roles.get(node)})`).join(", ")}`,
    );
    return [...deployed.nodes].sort((a, b) => Number(roles.get(a) === "master") - Number(roles.get(b) === "master"));
}

export async function restore(
    docker: Docker,
    stack: string | undefined,
    inFile: string,
    log: (line: string) => void,
): Promise<RestoreResult> {
    const manifest = await readBackup(inFile);
    log(
        `${inFile}: ${manifest.files.length} files, ${manifest.keyCount} keys, taken ${manifest.createdAt} from ${manifest.stack}; checksums match`,
    );
    const deployed = await locate(docker, stack);
    const layoutNote = layoutChange(manifest.layout, deployed.layout);
    if (layoutNote !== undefined) {
        log(layoutNote);
    }
    const note = foreignUsersNote(manifest, deployed.stack, deployed.users);
    if (note !== undefined) {
        log(note);
    }
    const stamp = Date.now();
    const staged = `${DATA_DIR}/.restore-${stamp}`;
    const previous = `${DATA_DIR}/.previous-${stamp}`;
    const failed = `${DATA_DIR}/.failed-restore-${stamp}`;
    const swapped = `${previous}/.swapped`;
    const held: Held[] = [];
    try {
        // Every node gets the restored files, so that whichever the Sentinels make primary serves them.
        for (const node of deployed.nodes) {
            const volume = await holdVolume(deployed, node);
            held.push(volume);
            const uid = Number((await exec(volume.helper, ["id", "-u"])).stdout.trim());
            const gid = Number((await exec(volume.helper, ["id", "-g"])).stdout.trim());
            await volume.run(`mkdir -m 0700 ${staged}`);
            await volume.helper.putArchive(restoreArchive(inFile, uid, gid) as unknown as NodeJS.ReadableStream, { path: staged });
            log(`staged in ${node.dataVolumeName}:${staged.slice(DATA_DIR.length)}`);
        }
        const stops = await stopOrder(deployed, log);
        const starts = [...stops].reverse();
        const volumeOf = (node: Node): Held => held.find((h) => h.node === node) as Held;
        try {
            for (const node of stops) {
                log(`stopping ${node.containerName}`);
                await stopContainer(node.container);
            }
            // The current files aside, the restored ones in: renames within each volume. The marker
            // says every current file is aside, so that a rollback knows which files are whose.
            for (const node of stops) {
                await volumeOf(node).run(
                    `set -e; mkdir -m 0700 ${previous}; ${moveScript(DATA_DIR, previous)}; touch ${swapped}; ${moveScript(staged, DATA_DIR)}; rmdir ${staged}`,
                );
            }
            await startNodes(deployed, starts, log);
            for (const node of starts) {
                await waitHealthy(node.engine, node.container, 120, { failOnExit: true }).catch((error: Error) => {
                    throw new Error(error.message.replace(/^container /, `container ${node.containerName} `));
                });
            }
        } catch (error) {
            // Put the previous files back in every volume and bring the nodes up on them; keep what
            // was restored aside. A volume whose swap stopped halfway has only current files in
            // place or aside, and gets the ones aside back. Each node on its own: one host that
            // does not answer leaves the others rolled back.
            for (const node of stops) {
                await stopContainer(node.container).catch(() => undefined);
            }
            const kept: string[] = [];
            const notRolledBack: string[] = [];
            for (const node of stops) {
                try {
                    const said = await volumeOf(node).run(
                        `set -e; if [ -f ${swapped} ]; then mkdir -p -m 0700 ${failed}; ${moveScript(DATA_DIR, failed)}; rm ${swapped}; echo kept; fi; ` +
                            `if [ -d ${previous} ]; then ${moveScript(previous, DATA_DIR)}; rmdir ${previous}; fi; rm -rf ${staged}`,
                    );
                    if (said.includes("kept")) {
                        kept.push(`${node.dataVolumeName}:${failed.slice(DATA_DIR.length)}`);
                    }
                } catch (rollbackError) {
                    notRolledBack.push(`${node.containerName} (${(rollbackError as Error).message})`);
                }
            }
            await startNodes(deployed, starts, log).catch(async () => {
                for (const node of starts) {
                    await node.container.start().catch(() => undefined);
                }
            });
            for (const node of starts) {
                await waitHealthy(node.engine, node.container, 120).catch(() => undefined);
            }
            if (deployed.replicated) {
                // As after a restore that worked: the set can fail over at once.
                await restartSentinels(deployed, log).catch(() => undefined);
            }
            const where = kept.length === 0 ? "no restored file was swapped in" : `the restored files are kept in ${kept.join(", ")}`;
            throw new BackupError(
                notRolledBack.length === 0
                    ? `the restored data did not come up (${(error as Error).message}); the previous data is back in place and Valkey runs on it; ${where}`
                    : `the restored data did not come up (${(error as Error).message}) and the previous data could not be put back on ${notRolledBack.join("; ")}. ` +
                          `Every other node has its previous data back and runs on it (${where}). A node named may be halfway through its swap: if its volume has ${previous.slice(DATA_DIR.length)}, ` +
                          `the files there are its previous data (and with ${swapped.slice(DATA_DIR.length)} there, the files in place are the restored ones). Once its host answers, ` +
                          `move the files in place aside, move those of ${previous.slice(DATA_DIR.length)} back, delete ${staged.slice(DATA_DIR.length)}, and start the container.`,
            );
        }
        const primary = deployed.replicated ? await primaryOf(deployed) : deployed.nodes[0];
        const keyCount = keyCountOf(await info(primary, "keyspace"));
        for (const volume of held) {
            await volume.run(`rm -rf ${previous}`);
        }
        if (deployed.replicated) {
            await restartSentinels(deployed, log).catch((error: Error) => {
                throw new BackupError(
                    `the data is restored and the set serves it, but a Sentinel did not come back: ${error.message}; ` +
                        "until it does, the set has fewer Sentinels to agree on a failover (docker logs names why)",
                );
            });
        }
        return { manifest, keyCount };
    } catch (error) {
        // Staged copies that were not swapped in go; the rollback above kept the rest in place.
        for (const volume of held) {
            await volume.run(`rm -rf ${staged}`).catch(() => undefined);
        }
        throw error;
    } finally {
        for (const volume of held) {
            await volume.helper.remove({ force: true }).catch(() => undefined);
        }
    }
}

async function primaryOf(deployed: Deployed): Promise<Node> {
    for (const node of deployed.nodes) {
        if ((await roleOf(node)).role === "master") {
            return node;
        }
    }
    throw new BackupError(`no node of stack ${deployed.stack} answers as the primary after the restore`);
}
