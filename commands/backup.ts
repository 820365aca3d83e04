/**
 * `npm run backup -- [--stack NAME] --out FILE`: copies the deployed stack's AOF and RDB out of the
 * running Valkey container into a 0600 file with a manifest (lib/backup.ts says how).
 */
import { backup } from "../lib/backup";
import { optional, required, runCommand } from "../lib/command";
import { dockerClient, requireDocker } from "../lib/docker";

runCommand({
    usage: "npm run backup -- [--stack NAME] --out FILE",
    summary:
        "Copies the deployed stack's data (AOF and RDB) out of the running Valkey container (in a replicated set, a linked replica), without stopping it, into FILE (0600) with a manifest: time, Valkey version, key count, SHA-256 of each file.",
    options: { stack: { type: "string" }, out: { type: "string" } },
    optionHelp: [
        "--stack NAME  the stack to back up (default: the selected one); run where pulumi up runs, with its backend and passphrase",
        "--out FILE    the new backup file (never overwritten)",
    ],
    run: async (values) => {
        const out = required(values, "out", "the new backup file");
        const docker = dockerClient();
        await requireDocker(docker);
        const manifest = await backup(docker, optional(values, "stack"), out);
        const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
        process.stdout.write(
            `backed up ${manifest.keyCount} keys (Valkey ${manifest.valkeyVersion}) from ${manifest.container} into ${out}: ` +
                `${manifest.files.length} files, ${bytes} bytes, mode 0600\n`,
        );
    },
});
