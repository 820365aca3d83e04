/**
 * The package's entry (components/index.ts, `main` of package.json once compiled): importing it
 * registers no resource; a program's ValkeyStack does (R16.2).
 */
import { recorded } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";

beforeAll(async () => {
    await useMocks();
});

test("R16.2 importing the package's entry registers no resource; constructing its ValkeyStack does; it exports the settings' checks and the client options", async () => {
    recorded.length = 0;
    const entry = await import("../../components");
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorded).toEqual([]);
    expect(entry.resolveSettings({}).settings.users).toEqual(entry.MOLIS_USERS);
    expect(entry.RIDE_THROUGH_OPTIONS.maxRetriesPerRequest).toBe(20);
    expect(Object.keys(entry.STACK_OUTPUTS)).toEqual(entry.STACK_OUTPUT_NAMES);

    const stack = await deployStack();
    expect(stack).toBeInstanceOf(entry.ValkeyStack);
    expect(recorded.length).toBeGreaterThan(0);
});
