/**
 * Valkey 8's command table as the server reports it (COMMAND), kept in settings/commandTable.json
 * and refreshed from a real server by `npm run commands`. The checks of service users look names up
 * here: a command Valkey does not have, or a container command granted without its subcommand,
 * is refused before anything is deployed. Pure data.
 */
import TABLE from "./commandTable.json";

/** One command (a subcommand as `parent|sub`) as COMMAND describes it. */
export interface CommandSpec {
    /** Lower case; a subcommand as `parent|sub`. */
    name: string;
    /** Exact token count when positive, the minimum when negative. */
    arity: number;
    flags: string[];
    /** Position of the first key (0: none), the last (negative from the end) and the step. */
    firstKey: number;
    lastKey: number;
    step: number;
    /** ACL categories without the `@`. */
    categories: string[];
}

/** Every command by name. */
export const VALKEY_COMMANDS: ReadonlyMap<string, CommandSpec> = new Map((TABLE as CommandSpec[]).map((spec) => [spec.name, spec]));

/** The commands that have subcommands, each with them (`config` to `config|get`, ...). */
export const SUBCOMMANDS: ReadonlyMap<string, string[]> = (() => {
    const parents = new Map<string, string[]>();
    for (const name of VALKEY_COMMANDS.keys()) {
        const [parent] = name.split("|");
        if (parent !== name) {
            parents.set(parent, [...(parents.get(parent) ?? []), name]);
        }
    }
    return parents;
})();

/** Whether a command touches keys (Valkey's key spec, or keys found by the server at run time). */
export function takesKeys(spec: CommandSpec): boolean {
    return spec.firstKey > 0 || spec.flags.includes("movablekeys");
}
