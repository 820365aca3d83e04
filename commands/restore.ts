/**
 * `npm run restore -- [--stack NAME] --in FILE`: puts a backup's data back into the deployed stack,
 * checked first and rolled back if it does not load (lib/restore.ts says how).
 */
import { restoredKeys } from "../lib/backupFormat";
import { restore } from "../lib/restore";
import { optional, required, runCommand } from "../lib/command";
import { dockerClient, requireDocker } from "../lib/docker";

runCommand({
    usage: "npm run restore -- [--stack NAME] --in FILE",
    summary:
        "Checks FILE against its manifest, then replaces the deployed stack's data with it: Valkey stops (in a replicated set every data node, replicas first), the files are swapped by renames in every data volume, Valkey starts (the primary first); if it does not come up healthy, the previous data goes back.",
    options: { stack: { type: "string" }, in: { type: "string" } },
    optionHelp: ["--stack NAME  the stack to restore into (default: the selected one)", "--in FILE     a backup written by npm run backup"],
    run: async (values) => {
        const file = required(values, "in", "the backup file to restore");
        const docker = dockerClient();
        await requireDocker(docker);
        const result = await restore(docker, optional(values, "stack"), file, (line) => process.stdout.write(`${line}\n`));
        process.stdout.write(`${restoredKeys(result.keyCount, result.manifest)}\n`);
    },
});
