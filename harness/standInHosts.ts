/**
 * Stand-in hosts on this machine for the several-hosts suite and benchmark: each a Docker Engine of
 * its own in a network namespace of its own (own data root, exec root, sockets, containerd
 * namespaces, bridge, cgroup parent, engine ID and host name). All of them, and this machine's
 * engine, meet on a private /29 bridged in a namespace of its own ("the LAN"):
 *
 *   root ns  mvl-root 10.213.7.1 ──┐
 *   molis-h1 eth0     10.213.7.2 ──┼── bridge in molis-lan (no address, no firewall, no route out)
 *   molis-h2 eth0     10.213.7.3 ──┘
 *
 * Traffic stays on this machine: the namespaces have no route but the /29, and the root namespace
 * has a blackhole route for it (a high metric, so the connected route wins while the link is up):
 * with the LAN side of a link down, nothing to the /29 follows the default route off the machine. A
 * partition sets a host's LAN-side link down; a host loss (powerOff) kills its engine and every
 * process on it and deletes its namespace, as a power cut does. Teardown always runs (and runs
 * first, for what a crashed run left): the engines' containers, dockerd and containerd by pid, what
 * stays mounted under their roots, their cgroup folders, the route, the namespaces. A host may also
 * serve SSH, as a remote one is reached (harness/standInSsh.ts); a power cut stops that too.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { join } from "node:path";
import { ensureStandInBaseImage, STAND_IN_BASE_IMAGE } from "../lib/baseImage";
import { pidOf, ROOTS, run, stopProcess, tryRun } from "./standInProcesses";
import { removeSshClientConfig, restartSshd, stopSshd } from "./standInSsh";

export const LAN = {
    namespace: "molis-lan",
    bridge: "br0",
    network: "10.213.7.0/29",
    prefix: 29,
    rootAddress: "10.213.7.1",
    rootLink: "mvl-root",
};
/** The route that keeps the LAN's traffic on this machine when a link is down. */
const BLACKHOLE = ["route", "add", "blackhole", LAN.network, "metric", "4000"];
const CGROUP_ROOT = "/sys/fs/cgroup";

/** A stand-in host: its namespace, its engine's socket, its address on the LAN. */
export interface StandInHost {
    name: string;
    namespace: string;
    address: string;
    /** `unix:///...`: what Pulumi's Docker provider and `docker -H` reach its engine by. */
    dockerHost: string;
    /** Its engine's files: data root, exec root (short: socket path limits), pid file, log. */
    dataRoot: string;
    execRoot: string;
    pidFile: string;
    logFile: string;
    /** The LAN-side end of its link (set down for a partition). */
    lanLink: string;
}

/** The stand-in host number `n` (1, 2, ...). */
export function standInHost(n: number): StandInHost {
    const name = `h${n}`;
    const execRoot = `/run/mvh${n}`;
    return {
        name,
        namespace: `molis-${name}`,
        address: `10.213.7.${n + 1}`,
        dockerHost: `unix://${execRoot}/docker.sock`,
        dataRoot: join(ROOTS, name),
        execRoot,
        pidFile: join(ROOTS, `${name}.pid`),
        logFile: join(ROOTS, `${name}.log`),
        lanLink: `mvl-${name}`,
    };
}

/** The LAN-side end of this machine's link. */
const ROOT_LAN_LINK = "mvl-root-l";

function namespaces(): string[] {
    return run("ip", ["netns", "list"])
        .split("\n")
        .map((line) => line.split(" ")[0])
        .filter((name) => name !== "");
}

/** `docker` against a stand-in host's engine. */
export function dockerOn(host: StandInHost, args: string[]): string {
    return run("docker", ["-H", host.dockerHost, ...args]);
}

/** Whether the engine answers. */
export function answers(host: StandInHost): boolean {
    return tryRun("docker", ["-H", host.dockerHost, "version", "--format", "{{.Server.Version}}"]);
}

/** containerd started by the host's dockerd (it writes no pid file where we can name it: found by its config path). */
function containerdPids(host: StandInHost): number[] {
    return readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
            try {
                return readFileSync(`/proc/${pid}/cmdline`, "utf8")
                    .split("\0")
                    .join(" ")
                    .includes(`${host.execRoot}/containerd/containerd.toml`);
            } catch {
                return false;
            }
        })
        .map(Number);
}

/** Unmounts what is mounted under a folder, deepest first. */
function unmountUnder(folder: string): void {
    const mounts = readFileSync("/proc/self/mounts", "utf8")
        .split("\n")
        .map((line) => line.split(" ")[1])
        .filter((point) => point !== undefined && (point === folder || point.startsWith(`${folder}/`)))
        .sort((a, b) => b.length - a.length);
    for (const point of mounts) {
        tryRun("umount", ["-l", point]);
    }
}

/** Removes a cgroup v1 folder tree (folders only: the kernel refuses rmdir of a non-empty one, so deepest first). */
function removeCgroup(path: string): void {
    if (!existsSync(path)) {
        return;
    }
    for (const entry of readdirSync(path, { withFileTypes: true })) {
        if (entry.isDirectory()) {
            removeCgroup(join(path, entry.name));
        }
    }
    try {
        rmSync(path, { recursive: false, force: true });
    } catch {
        tryRun("rmdir", [path]);
    }
}

function readStatus(pid: number): string {
    try {
        return readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
        return "";
    }
}

/** Every process in a cgroup v1 folder tree. */
function cgroupProcs(path: string): number[] {
    if (!existsSync(path)) {
        return [];
    }
    const here = readFileSync(join(path, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    const below = readdirSync(path, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .flatMap((entry) => cgroupProcs(join(path, entry.name)));
    return [...here, ...below];
}

function cgroupFolders(host: StandInHost): string[] {
    if (!existsSync(CGROUP_ROOT)) {
        return [];
    }
    return readdirSync(CGROUP_ROOT)
        .map((controller) => join(CGROUP_ROOT, controller, `molis-${host.name}`))
        .filter((path) => existsSync(path));
}

/** Stops a host's engine: its containers first (a PID 1 that ignores SIGTERM holds shutdown), then dockerd and containerd. */
export async function stopEngine(host: StandInHost): Promise<void> {
    if (answers(host)) {
        const ids = dockerOn(host, ["ps", "-aq"]).split("\n").filter(Boolean);
        if (ids.length > 0) {
            tryRun("docker", ["-H", host.dockerHost, "rm", "-f", ...ids]);
        }
    }
    const pid = pidOf(host.pidFile);
    if (pid !== undefined) {
        await stopProcess(pid, 10000);
    }
    for (const containerd of containerdPids(host)) {
        await stopProcess(containerd, 5000);
    }
}

/** Kills a host's engine at once (a host loss): dockerd and containerd SIGKILLed, its containers' processes with them. */
export async function killEngine(host: StandInHost): Promise<void> {
    const pids = [pidOf(host.pidFile), ...containerdPids(host)].filter((pid): pid is number => pid !== undefined);
    // Its other processes: those in its network namespace (shims, proxies) and its containers' (in its cgroup tree).
    const inNamespace = run("ip", ["netns", "pids", host.namespace]).split("\n").filter(Boolean).map(Number);
    const inContainers = cgroupProcs(join(CGROUP_ROOT, "pids", `molis-${host.name}`));
    for (const pid of [...pids, ...inNamespace, ...inContainers]) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // gone meanwhile
        }
    }
    // Gone, or a zombie whose reaper is this machine's init: either way it holds nothing.
    const until = Date.now() + 10000;
    for (const pid of [...pids, ...inNamespace, ...inContainers]) {
        while (existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readStatus(pid)) && Date.now() < until) {
            await sleep(50);
        }
    }
    unmountUnder(host.execRoot);
}

/** Starts a host's engine in its namespace and waits until it answers. */
export async function startEngine(host: StandInHost): Promise<void> {
    mkdirSync(host.dataRoot, { recursive: true });
    const config = join(ROOTS, `${host.name}-daemon.json`);
    // Its own key file: both engines would otherwise read /etc/docker/key.json and report one engine ID.
    writeFileSync(config, JSON.stringify({ "deprecated-key-path": join(host.dataRoot, "key.json") }));
    const log = openSync(host.logFile, "a");
    const n = Number(host.name.slice(1));
    const child = spawn(
        "unshare",
        [
            "--uts",
            "sh",
            "-c",
            `hostname molis-${host.name} && exec nsenter --net=/var/run/netns/${host.namespace} dockerd ${[
                `--data-root=${host.dataRoot}/docker`,
                `--exec-root=${host.execRoot}`,
                `--pidfile=${host.pidFile}`,
                `-H=${host.dockerHost}`,
                `--containerd-namespace=molis-${host.name}`,
                `--containerd-plugins-namespace=molis-${host.name}-plugins`,
                `--bip=172.31.${n}.1/24`,
                `--cgroup-parent=/molis-${host.name}`,
                "--shutdown-timeout=3",
                `--config-file=${config}`,
            ].join(" ")}`,
        ],
        { detached: true, stdio: ["ignore", log, log] },
    );
    child.unref();
    closeSync(log);
    const until = Date.now() + 30000;
    while (!answers(host)) {
        if (Date.now() > until) {
            throw new Error(`the stand-in engine ${host.name} did not answer within 30 s; read ${host.logFile}`);
        }
        await sleep(200);
    }
}

/** A host's network: its namespace, loopback, and its link to the LAN with its address. */
function plugIn(host: StandInHost): void {
    run("ip", ["netns", "add", host.namespace]);
    run("ip", ["-n", host.namespace, "link", "set", "lo", "up"]);
    // A namespace deleted while a TCP connection to it was open (an ssh session cut by a power
    // cut) lives on until the kernel gives up on the connection, and its link with it: remove the
    // link (both ends) so that the host comes back now.
    tryRun("ip", ["-n", LAN.namespace, "link", "del", host.lanLink]);
    // The same MAC address on every boot, as a real host's NIC keeps: with a new one, the others'
    // neighbour entries would send to the old one until they went stale (measured: 70 s).
    const mac = `02:00:0a:d5:07:${host.address.split(".")[3].padStart(2, "0")}`;
    run("ip", [
        "link",
        "add",
        host.lanLink,
        "netns",
        LAN.namespace,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "address",
        mac,
        "netns",
        host.namespace,
    ]);
    run("ip", ["-n", host.namespace, "addr", "add", `${host.address}/${LAN.prefix}`, "dev", "eth0"]);
    run("ip", ["-n", host.namespace, "link", "set", "eth0", "up"]);
    run("ip", ["-n", LAN.namespace, "link", "set", host.lanLink, "master", LAN.bridge, "up"]);
}

/**
 * A host lost, as a power cut: its link down, its engine and every process on it killed, and its
 * network namespace deleted, so that none of its kernel's network state outlives it, as none
 * outlives a reboot. Measured: with the namespace kept, the restarted host's replication links
 * dropped every few seconds (state left from before the kill), and the next failover stalled.
 */
export async function powerOff(host: StandInHost): Promise<void> {
    setLink(host, false);
    await killEngine(host);
    if (namespaces().includes(host.namespace)) {
        run("ip", ["netns", "del", host.namespace]);
    }
}

/** A lost host back, as after a reboot: a fresh network namespace and link, and its engine started (its data root kept). */
export async function powerOn(host: StandInHost): Promise<void> {
    if (!namespaces().includes(host.namespace)) {
        plugIn(host);
    }
    setLink(host, true);
    if (!answers(host)) {
        await startEngine(host);
    }
    await restartSshd(host);
}

/** Sets a host's LAN link down (a partition) or up (healed); this machine's ("root") as well. */
export function setLink(host: StandInHost | "root", up: boolean): void {
    const link = host === "root" ? ROOT_LAN_LINK : host.lanLink;
    run("ip", ["-n", LAN.namespace, "link", "set", link, up ? "up" : "down"]);
}

/** Where the kernel sends a packet to `address`: the route `ip route get` prints. */
export function routeTo(address: string): string {
    return run("ip", ["route", "get", address]).trim();
}

/** Removes every stand-in host and the LAN: idempotent, safe after a crash. */
export async function tearDownStandInHosts(count = 2): Promise<void> {
    for (let n = 1; n <= count; n++) {
        const host = standInHost(n);
        await stopSshd(host);
        await stopEngine(host);
        unmountUnder(host.execRoot);
        unmountUnder(host.dataRoot);
        for (const folder of cgroupFolders(host)) {
            removeCgroup(folder);
        }
        rmSync(host.execRoot, { recursive: true, force: true });
        rmSync(host.dataRoot, { recursive: true, force: true });
        if (namespaces().includes(host.namespace)) {
            run("ip", ["netns", "del", host.namespace]);
        }
    }
    if (namespaces().includes(LAN.namespace)) {
        // Its veth ends go with it, and so do their peers in the root namespace.
        run("ip", ["netns", "del", LAN.namespace]);
    }
    tryRun("ip", ["link", "del", LAN.rootLink]);
    while (tryRun("ip", ["route", "del", "blackhole", LAN.network])) {
        // a crashed run may have added it more than once
    }
    removeSshClientConfig();
    rmSync(ROOTS, { recursive: true, force: true });
}

/**
 * Sets up `count` stand-in hosts (after removing what an earlier run left): the LAN, the blackhole
 * route, each host's namespace, link and engine, and the stand-in base image loaded into each.
 */
export async function setUpStandInHosts(count = 2): Promise<StandInHost[]> {
    await tearDownStandInHosts(count);
    ensureStandInBaseImage();
    mkdirSync(ROOTS, { recursive: true });
    run("ip", BLACKHOLE);
    run("ip", ["netns", "add", LAN.namespace]);
    run("ip", ["-n", LAN.namespace, "link", "add", LAN.bridge, "type", "bridge"]);
    run("ip", ["-n", LAN.namespace, "link", "set", LAN.bridge, "up"]);
    run("ip", ["link", "add", LAN.rootLink, "type", "veth", "peer", "name", ROOT_LAN_LINK, "netns", LAN.namespace]);
    run("ip", ["addr", "add", `${LAN.rootAddress}/${LAN.prefix}`, "dev", LAN.rootLink]);
    run("ip", ["link", "set", LAN.rootLink, "up"]);
    run("ip", ["-n", LAN.namespace, "link", "set", ROOT_LAN_LINK, "master", LAN.bridge, "up"]);
    const hosts: StandInHost[] = [];
    for (let n = 1; n <= count; n++) {
        const host = standInHost(n);
        plugIn(host);
        await startEngine(host);
        // Real hosts share no image store: each engine gets the base image through its own API.
        run("sh", ["-c", `docker save ${STAND_IN_BASE_IMAGE} | docker -H ${host.dockerHost} load -q`]);
        hosts.push(host);
    }
    return hosts;
}
