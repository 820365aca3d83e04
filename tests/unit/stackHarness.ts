/** Builds a ValkeyStack under the recording mocks and waits until every child is registered. */
import * as pulumi from "@pulumi/pulumi";
import { mocks, promiseOf, recorded, recordedOptions } from "./mocks";
import type { ValkeyStack, ValkeyStackArgs } from "../../components/valkeyStack";

let mocksSet = false;

/** Call once per file in beforeAll, before the component module is loaded. */
export async function useMocks(): Promise<void> {
    if (!mocksSet) {
        await pulumi.runtime.setMocks(mocks, "molis-valkey", "test", false);
        mocksSet = true;
    }
}

export async function deployStack(args: ValkeyStackArgs = {}, name = "molis-valkey"): Promise<ValkeyStack> {
    recorded.length = 0;
    recordedOptions.clear();
    // Loaded after setMocks so the SDK sees the mock monitor.
    const { ValkeyStack: Stack } = await import("../../components/valkeyStack");
    // A transformation on the component sees every child's resource options (mocks see only inputs).
    const stack = new Stack(name, args, {
        transformations: [
            (child) => {
                recordedOptions.set(child.name, child.opts);
                return undefined;
            },
        ],
    });
    await Promise.all([
        promiseOf(stack.containerName),
        promiseOf(stack.passwords),
        promiseOf(stack.clientKeyPems),
        promiseOf(stack.networkName),
        promiseOf(stack.dataVolumeName),
        promiseOf(stack.ready),
        promiseOf(stack.containerNames),
    ]);
    return stack;
}
