/** Scraping a deployed exporter as Prometheus on the network would: an HTTP GET from a client container. */
import { exec } from "../../lib/docker";
import { samplesOf } from "../exporterProcess";
import { ValkeyClient } from "./valkeyClient";

/** An HTTP GET from the client container on the stack's network: the status and the body. */
export async function fetchFromNetwork(client: ValkeyClient, url: string): Promise<{ status: number; body: string }> {
    const script = `fetch(${JSON.stringify(url)}).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })), (e) => { process.stderr.write(String(e)); process.exit(2); })`;
    const result = await exec(client.container, ["node", "-e", script]);
    if (result.code !== 0) {
        throw new Error(`fetch ${url} from the network failed: ${result.stderr}`);
    }
    return JSON.parse(result.stdout) as { status: number; body: string };
}

/** A sample's value in exposition text (`redis_up`, `redis_db_keys{db="db0"}`), as harness/exporterProcess.ts reads it. */
export function sample(text: string, name: string): number | undefined {
    return samplesOf(text).get(name);
}
