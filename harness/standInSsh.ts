/**
 * SSH to a stand-in host, as to a remote one: an sshd in its namespace on its LAN address (key
 * login as root only, no password; its DOCKER_HOST its own engine), and this machine's ssh told how
 * to reach it by a block of the system-wide client configuration (which Debian's ssh_config
 * includes): its host key pinned in a known_hosts file of the suite's, a key of the suite's, batch
 * mode. Pulumi's Docker provider and npm run backup/restore run the system's ssh, so they read it
 * as they would read an operator's ~/.ssh/config. Everything lives under ROOTS and in that one
 * file; teardown removes both.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { pollFor } from "../lib/poll";
import type { StandInHost } from "./standInHosts";
import { pidOf, ROOTS, run, stopProcess, tryRun } from "./standInProcesses";

const SSH_DIR = join(ROOTS, "ssh");
const SSH_CLIENT_CONFIG = "/etc/ssh/ssh_config.d/molis-stand-in-hosts.conf";
/** sshd's privilege separation folder (Debian's service makes it at start); removed only when made here. */
const SSHD_PRIVSEP = "/run/sshd";
const SSHD_PRIVSEP_MADE = join(ROOTS, "made-run-sshd");

/** The name this machine's ssh reaches a stand-in host by (a Host block of SSH_CLIENT_CONFIG). */
export function sshName(host: StandInHost): string {
    return `molis-${host.name}`;
}

/** The `ssh://` address Pulumi's Docker provider and the operator commands reach a stand-in host's engine by. */
export function sshDockerHost(host: StandInHost): string {
    return `ssh://root@${sshName(host)}`;
}

const sshFiles = (host: StandInHost) => ({
    hostKey: join(SSH_DIR, `${host.name}_host_ed25519`),
    config: join(SSH_DIR, `${host.name}_sshd_config`),
    pidFile: join(SSH_DIR, `${host.name}_sshd.pid`),
    log: join(SSH_DIR, `${host.name}_sshd.log`),
});

function newKey(file: string): void {
    if (!existsSync(file)) {
        run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "molis stand-in hosts", "-f", file]);
    }
}

/** Starts the host's sshd (in its namespace, on its address) and waits until ssh runs the docker CLI there against its engine. */
async function startSshd(host: StandInHost): Promise<void> {
    launchSshd(host, sshFiles(host).config);
    await pollFor(
        `ssh to the stand-in host ${host.name} reaching its engine (read ${sshFiles(host).log})`,
        30000,
        () => tryRun("ssh", [sshName(host), "docker", "version", "--format", "{{.Server.Version}}"]),
        200,
    );
}

function launchSshd(host: StandInHost, config: string): void {
    if (!existsSync(SSHD_PRIVSEP)) {
        mkdirSync(SSHD_PRIVSEP, { mode: 0o755 });
        writeFileSync(SSHD_PRIVSEP_MADE, "");
    }
    run("ip", ["netns", "exec", host.namespace, "/usr/sbin/sshd", "-f", config, "-E", sshFiles(host).log]);
}

/** Whether something listens on the host's SSH port (its sshd daemonizes before it listens). */
function sshListening(host: StandInHost): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = connect({ host: host.address, port: 22 });
        socket.setTimeout(2000, () => socket.destroy());
        socket.on("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.on("close", () => resolve(false));
        socket.on("error", () => undefined);
    });
}

/** What the host's sshd logged (logins accepted and refused). */
export function sshdLog(host: StandInHost): string {
    return existsSync(sshFiles(host).log) ? readFileSync(sshFiles(host).log, "utf8") : "";
}

/**
 * Runs `during` while the host's sshd presents another host key than the one pinned in known_hosts
 * (a host rebuilt, or someone in the middle), then serves with its own key again.
 */
export async function withForeignHostKey<T>(host: StandInHost, during: () => Promise<T>): Promise<T> {
    const files = sshFiles(host);
    const foreignKey = join(SSH_DIR, `${host.name}_foreign_host_ed25519`);
    const foreignConfig = join(SSH_DIR, `${host.name}_foreign_sshd_config`);
    newKey(foreignKey);
    writeFileSync(foreignConfig, readFileSync(files.config, "utf8").replace(`HostKey ${files.hostKey}`, `HostKey ${foreignKey}`));
    await stopSshd(host);
    launchSshd(host, foreignConfig);
    await pollFor(`the stand-in host ${host.name}'s sshd listening (read ${files.log})`, 30000, () => sshListening(host), 200);
    try {
        return await during();
    } finally {
        await stopSshd(host);
        await startSshd(host);
    }
}

/** Serves SSH on a stand-in host (again after powerOn) and returns its `ssh://` Docker host. */
export async function serveSsh(host: StandInHost): Promise<string> {
    mkdirSync(SSH_DIR, { recursive: true, mode: 0o700 });
    const files = sshFiles(host);
    const clientKey = join(SSH_DIR, "client_ed25519");
    newKey(clientKey);
    newKey(files.hostKey);
    writeFileSync(join(SSH_DIR, "authorized_keys"), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
    const [keyType, key] = readFileSync(`${files.hostKey}.pub`, "utf8").split(" ");
    const knownHosts = join(SSH_DIR, "known_hosts");
    const pinned = existsSync(knownHosts)
        ? readFileSync(knownHosts, "utf8")
              .split("\n")
              .filter((line) => line !== "" && !line.startsWith(`${host.address} `))
        : [];
    writeFileSync(knownHosts, [...pinned, `${host.address} ${keyType} ${key}`].join("\n") + "\n");
    writeFileSync(
        files.config,
        [
            `ListenAddress ${host.address}`,
            `HostKey ${files.hostKey}`,
            `PidFile ${files.pidFile}`,
            `AuthorizedKeysFile ${join(SSH_DIR, "authorized_keys")}`,
            "PermitRootLogin prohibit-password",
            "AllowUsers root",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            // The docker CLI that Docker's ssh transport runs there (`docker system dial-stdio`) reaches this host's engine.
            `SetEnv DOCKER_HOST=${host.dockerHost}`,
            "",
        ].join("\n"),
    );
    const blocks = existsSync(SSH_CLIENT_CONFIG)
        ? readFileSync(SSH_CLIENT_CONFIG, "utf8")
              .split("\n\n")
              .filter((block) => block.trim() !== "" && !block.startsWith(`Host ${sshName(host)}\n`))
        : [];
    const block = [
        `Host ${sshName(host)}`,
        `    HostName ${host.address}`,
        `    IdentityFile ${clientKey}`,
        "    IdentitiesOnly yes",
        `    UserKnownHostsFile ${knownHosts}`,
        "    StrictHostKeyChecking yes",
        "    BatchMode yes",
    ].join("\n");
    writeFileSync(SSH_CLIENT_CONFIG, [...blocks, block].join("\n\n") + "\n");
    await startSshd(host);
    return sshDockerHost(host);
}

/** Stops the host's sshd, if it serves. */
export async function stopSshd(host: StandInHost): Promise<void> {
    const pid = pidOf(sshFiles(host).pidFile);
    if (pid !== undefined) {
        await stopProcess(pid, 5000);
    }
}

/** After a host's power cut: its sshd again, if it served SSH. */
export async function restartSshd(host: StandInHost): Promise<void> {
    if (existsSync(sshFiles(host).config) && pidOf(sshFiles(host).pidFile) === undefined) {
        await startSshd(host);
    }
}

/** Removes what SSH to the stand-in hosts put outside ROOTS: the client configuration, the sshd folder if made here. */
export function removeSshClientConfig(): void {
    rmSync(SSH_CLIENT_CONFIG, { force: true });
    if (existsSync(SSHD_PRIVSEP_MADE)) {
        rmSync(SSHD_PRIVSEP, { recursive: true, force: true });
    }
}
