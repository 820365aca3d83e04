/**
 * `npm run up [-- --stack NAME]`: deploys a working stack on a fresh machine in one command. It
 * uses the Pulumi CLI on the PATH (or else builds the engine from Go modules), the user's backend and
 * passphrase (or else a local file backend and a generated passphrase, kept 0600 outside the
 * checkout), builds the stand-in base image where no registry answers, then runs `pulumi up`.
 * It writes what it chose to DEV_HOME/env for the next commands' shell, and nothing into the
 * checkout. `npm run down` is its pair.
 */
import { optional, runCommand } from "../lib/command";
import { baseImageForHere, ENV_FILE, prepareStack, pulumiEnvironment, runPulumi } from "../lib/devStack";
import { dockerClient, requireDocker } from "../lib/docker";

runCommand({
    usage: "npm run up [-- --stack NAME]",
    summary:
        "Deploys the stack (default dev) with pulumi up, after supplying what a fresh machine lacks: the Pulumi CLI (the engine build), a backend and a passphrase (outside the checkout), and the stand-in base image where no registry answers.",
    options: { stack: { type: "string" } },
    optionHelp: ["--stack NAME  the stack to deploy (default dev, whose settings are in Pulumi.dev.yaml)"],
    run: async (values) => {
        const stack = optional(values, "stack") ?? "dev";
        await requireDocker(dockerClient());
        const { env, notes } = pulumiEnvironment();
        const stackFile = prepareStack(stack, env);
        const baseImage = baseImageForHere(stackFile);
        for (const note of [...notes, ...(baseImage ? [baseImage] : [])]) {
            process.stdout.write(`npm run up: ${note}\n`);
        }
        const code = await runPulumi(["up", "--yes", ...stackFile.args], env);
        if (code === 0) {
            process.stdout.write(
                `npm run up: stack ${stack} is deployed. In this shell: . ${ENV_FILE}  then  pulumi stack output --stack ${stack} --show-secrets  (the CLI, backend and passphrase npm run up used). Remove it: npm run down\n`,
            );
        }
        return code;
    },
});
