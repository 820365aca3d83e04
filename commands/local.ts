/**
 * `npm run local [-- --port N] [--reset]`: renders local mode into .local/valkey (git-ignored) and
 * runs valkey-server in the foreground. Secrets and data survive re-runs unless --reset.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { optional, runCommand } from "../lib/command";
import { localPortOption, LOCAL_OPTION_HELP, LOCAL_OPTIONS, renderLocal } from "../lib/localMode";
import { requireValkeyServer } from "../lib/valkeyProcess";

runCommand({
    usage: "npm run local [-- --out DIR] [--port N] [--reset]",
    summary:
        "Renders local mode (default into .local/valkey) and runs valkey-server on it in the foreground; Ctrl-C stops it, data is kept.",
    options: LOCAL_OPTIONS,
    optionHelp: LOCAL_OPTION_HELP,
    run: async (values) => {
        const out = optional(values, "out") ?? join(__dirname, "..", ".local", "valkey");
        const port = localPortOption(values);
        const version = requireValkeyServer();
        const { paths } = await renderLocal(out, { port, reset: values.reset === true });
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
        return new Promise<number>((resolve) => server.on("exit", (code) => resolve(code ?? 0)));
    },
});
