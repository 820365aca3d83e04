/**
 * valkey-sentinel: PID 1 of a Sentinel (R13.2). Writes the Sentinel's config into its own folder of
 * its volume (0700, files 0600: the config holds the passwords Sentinel uses, which it cannot read
 * from a file) from the set's settings, its secrets and what it saved before (its identity, epochs,
 * the current primary, the peers and replicas it learned, limited to the members the set has now),
 * then runs valkey-server in Sentinel mode on it. Sentinel rewrites that file as it learns; it must
 * be writable, and it is never the image's.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSupervisorSettings } from "../valkey/contract";
import { renderSentinelConf, savedSentinelState } from "../valkey/sentinelConf";
import { log, memberOf, readSet } from "./connections";

const settings = readSupervisorSettings(process.env);
const set = readSet(settings);
const say = (line: string): void => log(settings.member, line);

function main(): void {
    process.umask(0o077);
    mkdirSync(settings.sentinelDir, { recursive: true, mode: 0o700 });
    chmodSync(settings.sentinelDir, 0o700);
    const conf = join(settings.sentinelDir, "sentinel.conf");
    const state = savedSentinelState(existsSync(conf) ? readFileSync(conf, "utf8") : undefined, set);
    const text = renderSentinelConf(
        set,
        memberOf(set.sentinels, settings.member),
        {
            bind: settings.bind,
            tlsCertFile: settings.tlsServerCert,
            tlsKeyFile: settings.tlsServerKey,
            tlsCaCertFile: settings.tlsCa,
            peerCertFile: settings.tlsPeerCert,
            peerKeyFile: settings.tlsPeerKey,
            aclFile: settings.aclFile,
            dir: settings.sentinelDir,
        },
        {
            nodePassword: readFileSync(settings.sentinelPasswordFile, "utf8").trim(),
            peerPassword: readFileSync(settings.sentinelPeerPasswordFile, "utf8").trim(),
        },
        state,
    );
    const temporary = `${conf}.tmp-${process.pid}`;
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, conf);
    say(
        `watching ${set.primaryName}, primary ${state.primary ? `${state.primary.host}:${state.primary.port} (as saved)` : `${set.nodes[0].name} (the set's first node)`}`,
    );
    const server = spawn("valkey-server", [conf, "--sentinel"], { stdio: "inherit" });
    const stop = (): void => {
        server.kill("SIGTERM");
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    server.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGKILL" ? 137 : 143)));
}

try {
    main();
} catch (error) {
    say(`cannot start: ${(error as Error).message}`);
    process.exit(1);
}
