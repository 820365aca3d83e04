/** Row 3: the wall time of the unit suite and of the whole `npm test`. */
import { join } from "node:path";
import { Row } from "./row";
import { fmt, ROOT, stat, timeCommand } from "./stats";

export const testTimesRow: Row = {
    number: 3,
    heading: "3. Tests",
    intro: ["Target: unit suite <= 10 s."],
    measure: async () => {
        const jest = join(ROOT, "node_modules", ".bin", "jest");
        const unit: number[] = [];
        const all: number[] = [];
        for (let run = 0; run < 3; run++) {
            unit.push(timeCommand(jest, ["tests/unit"]));
            all.push(timeCommand("npm", ["test", "--silent"]));
        }
        const unitSeconds = stat(unit).median;
        return {
            table: [
                "| Suite | wall s median (min-max) | command |",
                "| --- | --- | --- |",
                `| unit tests | ${fmt(stat(unit), 1)} | \`npm run test:unit\` |`,
                `| whole \`npm test\` (build, unit, real-server suite) | ${fmt(stat(all), 1)} | \`npm test\` |`,
            ],
            missed: unitSeconds > 10 ? [`Unit tests: ${unitSeconds.toFixed(1)} s, target 10 s.`] : [],
        };
    },
};
