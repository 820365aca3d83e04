/**
 * Jest for `npm test`: the unit tests (tests/unit) and the real-server suite (tests/integration).
 * Transpile-only TypeScript: type-checking runs once, in `npm run typecheck`. The deployed-stack
 * tier has its own config (tests/deployed/jest.config.js).
 */
import { availableParallelism } from "node:os";

export default {
    testEnvironment: "node",
    // At least two workers, also on two cores (jest's default there is one): the real-server suites
    // spend most of their time waiting for servers (the replication suite for failovers), so the
    // unit tests run beside them. Each suite starts its servers on free ports of its own.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    roots: ["<rootDir>/tests/unit", "<rootDir>/tests/integration"],
    testMatch: ["**/*.test.ts"],
    testEnvironmentOptions: { globalsCleanup: "off" },
    transform: {
        // isolatedModules (tsconfig) makes ts-jest transpile only.
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
};
