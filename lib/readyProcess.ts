/**
 * Starting a process and waiting until it says it is ready: one helper for the servers the
 * commands, the harness and the tests run (valkey-server, `npm run local`).
 */
import { ChildProcess, spawn, SpawnOptions } from "node:child_process";

export interface ReadyProcess {
    child: ChildProcess;
    /** Everything it wrote to stdout and stderr so far. */
    output: () => string;
}

/**
 * Spawns `command` and resolves once its output matches `ready`; rejects with its output when it
 * exits first or is not ready within `timeoutMs` (then `kill` ends it: SIGKILL by default).
 */
export function startUntilReady(
    command: string,
    args: string[],
    ready: RegExp,
    timeoutMs: number,
    options: SpawnOptions = {},
    kill: (child: ChildProcess) => void = (child) => child.kill("SIGKILL"),
    name = command,
): Promise<ReadyProcess> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        const timer = setTimeout(() => {
            kill(child);
            reject(new Error(`${name} was not ready within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const onData = (chunk: Buffer): void => {
            output += chunk.toString();
            if (ready.test(output)) {
                clearTimeout(timer);
                resolve({ child, output: () => output });
            }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", onData);
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`));
        });
    });
}
