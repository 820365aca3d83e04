/**
 * Waiting for what a server or an engine did, never for a fixed time: one polling loop for the
 * commands, the harness and the tests.
 */
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `probe` every `intervalMs` until it gives a value (anything but undefined or false) and
 * returns it; after `timeoutMs`, an error naming `what` (a function: asked then, so that it can
 * say what the probe saw last).
 */
export async function pollFor<T>(
    what: string | (() => string),
    timeoutMs: number,
    probe: () => Promise<T | undefined | false> | T | undefined | false,
    intervalMs = 50,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined && value !== false) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`${typeof what === "string" ? what : what()} did not hold within ${timeoutMs} ms`);
        }
        await sleep(intervalMs);
    }
}

/** Polls `condition` every 50 ms until it holds; fails after `timeoutMs`, naming `what`. */
export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs: number, what = "the condition"): Promise<void> {
    await pollFor(what, timeoutMs, condition);
}
