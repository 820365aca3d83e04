/** The data policy as settings: the RDB schedule and a host port on 127.0.0.1 only, each checked with the setting, the value and the fix. */
import { resolveSettings } from "../../settings";
import { renderValkeyConf } from "../../valkey/conf";
import { CONTAINER_PATHS } from "../../valkey/contract";
import { findResource, TYPES } from "./mocks";
import { deployStack, useMocks } from "./stackHarness";
import { problemsOf } from "./settingsProblems";

test("R4 the RDB schedule is a setting: the default is the stack's own, another is rendered as given", () => {
    expect(renderValkeyConf(resolveSettings({}).settings, CONTAINER_PATHS)).toContain("\nsave 900 1 300 10 60 10000\n");
    expect(renderValkeyConf(resolveSettings({ saveSchedule: "60 1 300 10 900 100" }).settings, CONTAINER_PATHS)).toContain(
        "\nsave 60 1 300 10 900 100\n",
    );
});

test.each([["60"], ["0 1"], ["sixty 1"], [""]])("R12.1 saveSchedule %j is refused with the fix", (value) => {
    expect(problemsOf({ saveSchedule: value })).toEqual([
        `saveSchedule: ${JSON.stringify(value)} is not valid; write pairs of whole numbers, seconds then changes, such as "60 1 300 10 900 100"`,
    ]);
});

test("R8.5 by default nothing is published; hostPort publishes a single node's TLS port on 127.0.0.1 only", async () => {
    await useMocks();
    await deployStack({});
    expect(findResource(TYPES.container, "-valkey").inputs.ports).toBeUndefined();
    await deployStack({ hostPort: 16379 });
    expect(findResource(TYPES.container, "-valkey").inputs.ports).toEqual([
        { internal: 6379, external: 16379, ip: "127.0.0.1", protocol: "tcp" },
    ]);
});

test("R12.1 hostPort with a replicated set is refused with the reason", () => {
    expect(problemsOf({ hostPort: 16379, replicas: 2 })).toEqual([
        "hostPort: 16379 is not valid; a replicated set's clients follow its Sentinels on the network (or, across hosts, the members' published ports); leave hostPort at 0, or use it with replicas 0",
    ]);
});
