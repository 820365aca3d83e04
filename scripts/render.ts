/**
 * `npm run render -- --out DIR [--port N] [--reset]`: writes the stack's valkey.conf, ACL file,
 * certificates and passwords for a local valkey-server (see scripts/localMode.ts for the layout).
 * Start it with `valkey-server DIR/valkey.conf`.
 */
import { parseLocalArgs, runCli } from "./cli";
import { renderLocal } from "./localMode";

runCli(async () => {
    const args = parseLocalArgs(process.argv.slice(2));
    const result = await renderLocal(args.out, { port: args.port, reset: args.reset });
    process.stdout.write(
        `${result.reused ? "re-rendered (secrets and data kept)" : "rendered"} ${result.paths.dir}\n` +
            `start it: valkey-server ${result.paths.conf}\n` +
            `credentials: ${result.paths.credentials}\n`,
    );
});
