/**
 * `npm run render -- --out DIR [--port N] [--reset]`: writes the stack's valkey.conf, ACL file,
 * certificates and passwords for a local valkey-server (layout in lib/localMode.ts). Start it with
 * `valkey-server DIR/valkey.conf`.
 */
import { localPortOption, LOCAL_OPTION_HELP, LOCAL_OPTIONS, renderLocal } from "../lib/localMode";
import { required, runCommand } from "../lib/command";

runCommand({
    usage: "npm run render -- --out DIR [--port N] [--reset]",
    summary: "Writes the stack's valkey.conf, ACL file, certificates and passwords into DIR for a valkey-server on this machine.",
    options: LOCAL_OPTIONS,
    optionHelp: LOCAL_OPTION_HELP,
    run: async (values) => {
        const out = required(values, "out", "the folder to render into (new, empty, or one rendered before)");
        const result = await renderLocal(out, { port: localPortOption(values), reset: values.reset === true });
        process.stdout.write(
            `${result.reused ? "re-rendered (secrets and data kept)" : "rendered"} ${result.paths.dir}\n` +
                `start it: valkey-server ${result.paths.conf}\n` +
                `credentials: ${result.paths.credentials}\n`,
        );
    },
});
