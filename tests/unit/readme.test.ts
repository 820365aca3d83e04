/** README's client snippet is the one the deployed-stack suite runs through a rotation. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RIDE_THROUGH_OPTIONS } from "../../lib/clientOptions";

const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");

test("README shows the reconnect settings of lib/clientOptions.ts, which tests/deployed/support/rideThrough.ts uses", () => {
    expect(readme).toContain(`connectTimeout: ${RIDE_THROUGH_OPTIONS.connectTimeout},`);
    expect(readme).toContain(`maxRetriesPerRequest: ${RIDE_THROUGH_OPTIONS.maxRetriesPerRequest},`);
    expect(readme).toContain("retryStrategy: (times) => Math.min(times * 100, 2000),");
    for (let times = 1; times <= 40; times++) {
        expect(RIDE_THROUGH_OPTIONS.retryStrategy(times)).toBe(Math.min(times * 100, 2000));
    }
    expect(readme).toContain("enableReadyCheck: false,");
});
