/**
 * What every operator command shares (commands/*.ts): one argument parser (node's util.parseArgs),
 * `--help`, and one exit convention:
 *
 *   0  done;
 *   1  refused or failed: a UserError, printed as one line `error: <what is wrong and what to do>`;
 *   2  the command line itself is wrong (unknown option, missing or bad value): `error: ...`.
 *
 * Anything else is a bug: its stack is printed and the exit code is 1.
 */
import { parseArgs, ParseArgsConfig } from "node:util";
import { UserError } from "../settings/errors";

export { UserError };

/** A command line the command cannot run: exit 2. */
export class UsageError extends UserError {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The values parseArgs returns for a set of options: strings and booleans by name. */
export type OptionValues = Record<string, string | boolean | undefined>;

export interface CommandSpec {
    /** How to call it, as the README writes it: `npm run backup -- [--stack NAME] --out FILE`. */
    usage: string;
    /** What it does, in a sentence or two, for --help. */
    summary: string;
    /** Its options (besides --help), with what each means for --help. */
    options: Options;
    /** One line per option for --help: `--out FILE  where the backup goes`. */
    optionHelp: string[];
    /** Does the work; resolves with the exit code when it is not 0 (a server run in the foreground passes its own on). */
    run: (values: OptionValues) => Promise<number | void>;
}

/** A required string option, or a UsageError naming it. */
export function required(values: OptionValues, name: string, what: string): string {
    const value = values[name];
    if (typeof value !== "string" || value === "") {
        throw new UsageError(`--${name} is required: ${what}`);
    }
    return value;
}

/** An optional string option. */
export function optional(values: OptionValues, name: string): string | undefined {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
}

function help(spec: CommandSpec): string {
    return [
        `usage: ${spec.usage}`,
        "",
        spec.summary,
        "",
        ...spec.optionHelp.map((line) => `  ${line}`),
        "  --help  print this and exit",
        "",
    ].join("\n");
}

/** Parses argv, runs the command, and exits by the convention above. */
export function runCommand(spec: CommandSpec, argv: string[] = process.argv.slice(2)): void {
    const exit = (code: number, text: string): never => {
        process.stderr.write(text);
        process.exit(code);
    };
    let values: OptionValues;
    try {
        values = parseArgs({ args: argv, options: { ...spec.options, help: { type: "boolean" } }, strict: true, allowPositionals: false })
            .values as OptionValues;
    } catch (error) {
        // node:util parseArgs reports bad options as TypeErrors with an ERR_PARSE_ARGS_* code.
        return exit(2, `error: ${(error as Error).message} (usage: ${spec.usage}; --help says more)\n`);
    }
    if (values.help === true) {
        process.stdout.write(help(spec));
        return;
    }
    spec.run(values).then(
        (code) => process.exit(code ?? 0),
        (error: unknown) => {
            if (error instanceof UsageError) {
                exit(2, `error: ${error.message}\n`);
            } else if (error instanceof UserError) {
                exit(1, `error: ${error.message}\n`);
            } else {
                exit(1, `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
            }
        },
    );
}
