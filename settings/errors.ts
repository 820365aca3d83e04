/**
 * The one class of errors the user can fix: bad settings, a refused command line, a missing tool, a
 * backup that cannot be restored. Its message says what is wrong and what to do; the commands print
 * it on one line and exit 1 (lib/command.ts), never with a stack trace. It lives with the settings,
 * the lowest layer, so that every folder can raise it without an import cycle.
 */
export class UserError extends Error {
    constructor(message: string) {
        super(message);
        this.name = new.target.name;
    }
}

/** Raised when settings are invalid; `problems` holds one line per bad setting. */
export class SettingsError extends UserError {
    constructor(public readonly problems: string[]) {
        super(`invalid molis-valkey settings:\n  - ${problems.join("\n  - ")}`);
    }
}
