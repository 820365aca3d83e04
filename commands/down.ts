/**
 * `npm run down [-- --stack NAME]`: the pair of `npm run up`: `pulumi destroy` of the stack with the
 * same CLI, backend and passphrase. The data volume stays unless retainDataOnDestroy is false.
 */
import { optional, runCommand } from "../lib/command";
import { pulumiEnvironment, runPulumi, stackFileOf } from "../lib/devStack";

runCommand({
    usage: "npm run down [-- --stack NAME]",
    summary:
        "Destroys the stack npm run up deployed (default dev), with the same CLI, backend and passphrase; the data volume is kept unless retainDataOnDestroy is false.",
    options: { stack: { type: "string" } },
    optionHelp: ["--stack NAME  the stack to destroy (default dev)"],
    run: async (values) =>
        runPulumi(["destroy", "--yes", ...stackFileOf(optional(values, "stack") ?? "dev").args], pulumiEnvironment(false).env),
});
