/**
 * `npm run preview [-- --stack NAME]`: what `npm run up` would change (`pulumi preview --diff`), with
 * the same CLI, backend, passphrase and stack settings (the checkout's `Pulumi.<stack>.yaml` merged
 * with what `npm run up` chose). Changes nothing deployed.
 */
import { optional, runCommand } from "../lib/command";
import { prepareStack, pulumiEnvironment, runPulumi } from "../lib/devStack";
import { dockerClient, requireDocker } from "../lib/docker";

runCommand({
    usage: "npm run preview [-- --stack NAME]",
    summary:
        "Shows what npm run up would change for the stack (default dev): pulumi preview --diff with the same CLI, backend, passphrase and settings. Changes nothing.",
    options: { stack: { type: "string" } },
    optionHelp: ["--stack NAME  the stack to preview (default dev, whose settings are in Pulumi.dev.yaml)"],
    run: async (values) => {
        const stack = optional(values, "stack") ?? "dev";
        await requireDocker(dockerClient());
        const { env } = pulumiEnvironment(false);
        return runPulumi(["preview", "--diff", ...prepareStack(stack, env).args], env);
    },
});
