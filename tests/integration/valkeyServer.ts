/**
 * Real valkey-server processes for the integration suite: each test file renders local mode into
 * a temporary folder (the stack's own config, ACL file and certificates), starts servers on free
 * ports, and stops them and removes the folder afterwards, also on failure.
 */
import type { SettingsInput } from "../../settings";
import { appendFileSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis, { RedisOptions } from "ioredis";
import { AclUserName } from "../../valkey/acl";
import { freePort, localClientOptions, renderLocal, RenderResult } from "../../lib/localMode";
import { requireValkeyServer, RunningServer, StartOptions, startServer } from "../../lib/valkeyProcess";

export { startServer };
export type { RunningServer };

export interface Fixture {
    render: RenderResult;
    dir: string;
    cleanup: () => Promise<void>;
    start: (extraConf?: string[], options?: StartOptions) => Promise<RunningServer>;
    client: (user: AclUserName, options?: Partial<RedisOptions>) => Promise<Redis>;
}

/** Renders local mode into a new temporary folder on a free port, with `settings` (the defaults unless given). */
export async function createFixture(settings: SettingsInput = {}): Promise<Fixture> {
    requireValkeyServer();
    const dir = mkdtempSync(join(tmpdir(), "molis-it-"));
    const port = await freePort();
    const render = await renderLocal(join(dir, "local"), { port, checkPort: false, settings });
    const servers = new Set<RunningServer>();
    const clients = new Set<Redis>();

    const start = async (extraConf: string[] = [], options: StartOptions = {}): Promise<RunningServer> => {
        const conf = join(dir, `valkey-${servers.size}.conf`);
        copyFileSync(render.paths.conf, conf);
        if (extraConf.length > 0) {
            appendFileSync(conf, `\n# test copy overrides\n${extraConf.join("\n")}\n`);
        }
        const server = await startServer(conf, render.port, options);
        servers.add(server);
        return server;
    };

    const client = async (user: AclUserName, options: Partial<RedisOptions> = {}): Promise<Redis> => {
        const redis = new Redis({ ...clientOptions(render, user), ...options });
        clients.add(redis);
        redis.on("error", () => undefined);
        if (options.lazyConnect !== true) {
            await redis.ping().catch(() => undefined);
        }
        return redis;
    };

    const cleanup = async (): Promise<void> => {
        for (const redis of clients) {
            redis.disconnect();
        }
        for (const server of servers) {
            await server.kill();
        }
        rmSync(dir, { recursive: true, force: true });
    };
    return { render, dir, start, client, cleanup };
}

/** ioredis options for a user on a local server (lib/localMode.ts). */
export const clientOptions = localClientOptions;

/** Tests wait for what the server did (a count, a state), never for a fixed time. */
export { waitUntil } from "../../lib/poll";
