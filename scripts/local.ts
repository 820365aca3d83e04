/**
 * `npm run local [-- --port N] [--reset]`: renders local mode into .local/valkey (git-ignored)
 * and runs valkey-server in the foreground. Secrets and data survive re-runs unless --reset.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { parseLocalArgs, requireValkeyServer, runCli } from "./cli";
import { renderLocal } from "./localMode";

runCli(async () => {
    const args = parseLocalArgs(process.argv.slice(2), join(__dirname, "..", ".local", "valkey"));
    const version = requireValkeyServer();
    const { paths, port } = await renderLocal(args.out, { port: args.port, reset: args.reset });
    process.stdout.write(
        [
            `${version}`,
            `Valkey (TLS only) on 127.0.0.1:${port}, data in ${paths.dataDir}. Ctrl-C stops it; data is kept.`,
            "Connect as mcp-admin:",
            `  valkey-cli --tls --cacert ${paths.caCert} --cert ${paths.userCert("mcp-admin")} --key ${paths.userKey("mcp-admin")} \\`,
            `    -h 127.0.0.1 -p ${port} --user mcp-admin --askpass   # password: ${paths.passwordFile("mcp-admin")}`,
            `All users' credentials: ${paths.credentials}`,
            "",
        ].join("\n"),
    );
    const server = spawn("valkey-server", [paths.conf], { stdio: "inherit" });
    const stop = (): void => {
        server.kill("SIGTERM");
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    server.on("exit", (code) => process.exit(code ?? 0));
});
