/**
 * The command table the settings check service users against (settings/commandTable.json) is the
 * one of the valkey-server these tests run: a newer server with other commands fails here until
 * `npm run commands` refreshes the file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { commandTableFile, serverCommandTable } from "../../tools/commandTable";

test("R3 settings/commandTable.json is the command table of the real valkey-server (refresh it with npm run commands)", async () => {
    const table = await serverCommandTable();
    expect(table.length).toBeGreaterThan(300);
    expect(readFileSync(join(__dirname, "..", "..", "settings", "commandTable.json"), "utf8")).toBe(commandTableFile(table));
});
