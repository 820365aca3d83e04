/**
 * `npm run local [-- --port N] [--reset] [--directory FILE]`: renders local mode into .local/valkey
 * (git-ignored) and runs valkey-server in the foreground. Secrets and data survive re-runs unless
 * --reset. With --directory, the valkeyauth module is loaded with the directory settings of FILE,
 * so people log in with their directory password; the stack's users are passed on untouched.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { userNamesOf } from "../valkey/acl";
import { optional, runCommand } from "../lib/command";
import { localPortOption, LOCAL_OPTION_HELP, LOCAL_OPTIONS, renderLocal } from "../lib/localMode";
import { requireValkeyServer } from "../lib/valkeyProcess";
import { directorySettingsLines, valkeyauthModule } from "../lib/valkeyauthModule";

runCommand({
    usage: "npm run local [-- --out DIR] [--port N] [--reset] [--directory FILE]",
    summary:
        "Renders local mode (default into .local/valkey) and runs valkey-server on it in the foreground; Ctrl-C stops it, data is kept.",
    options: { ...LOCAL_OPTIONS, directory: { type: "string" } },
    optionHelp: [
        ...LOCAL_OPTION_HELP,
        "--directory FILE  load the valkeyauth module with FILE's valkeyauth.<name> <value> lines: people log in with their directory password",
    ],
    run: async (values) => {
        const out = optional(values, "out") ?? join(__dirname, "..", ".local", "valkey");
        const port = localPortOption(values);
        const version = requireValkeyServer();
        const directoryFile = optional(values, "directory");
        // Checked before anything is written: a bad file or a module that does not build changes nothing.
        const directory =
            directoryFile === undefined ? undefined : { lines: directorySettingsLines(directoryFile), module: valkeyauthModule() };
        const { paths, settings } = await renderLocal(out, { port, reset: values.reset === true });
        let conf = paths.conf;
        if (directory !== undefined) {
            conf = join(paths.dir, "directory.conf");
            const stackUsers = ["default", ...userNamesOf(settings.users)].join(" ");
            writeFileSync(
                conf,
                [
                    `include ${paths.conf}`,
                    `loadmodule ${directory.module}`,
                    `valkeyauth.stack-users "${stackUsers}"`,
                    ...directory.lines,
                    "",
                ].join("\n"),
            );
        }
        process.stdout.write(
            [
                `${version}`,
                `Valkey (TLS only) on 127.0.0.1:${port}, data in ${paths.dataDir}. Ctrl-C stops it; data is kept.`,
                "Connect as mcp-admin:",
                `  valkey-cli --tls --cacert ${paths.caCert} --cert ${paths.userCert("mcp-admin")} --key ${paths.userKey("mcp-admin")} \\`,
                `    -h 127.0.0.1 -p ${port} --user mcp-admin --askpass   # password: ${paths.passwordFile("mcp-admin")}`,
                `All users' credentials: ${paths.credentials}`,
                ...(directory !== undefined
                    ? [
                          `Directory login: people log in with their directory password (valkeyauth, settings from ${directoryFile}), with any client certificate of this CA.`,
                      ]
                    : []),
                "",
            ].join("\n"),
        );
        const server = spawn("valkey-server", [conf], { stdio: "inherit" });
        const stop = (): void => {
            server.kill("SIGTERM");
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
        return new Promise<number>((resolve) => server.on("exit", (code) => resolve(code ?? 0)));
    },
});
