/**
 * Jest for `npm test`: the unit tests (tests/unit) and the real-server suite (tests/integration).
 * Transpile-only TypeScript: type-checking runs once, in `npm run typecheck`. The deployed-stack
 * tier has its own config (tests/deployed/jest.config.js).
 */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests/unit", "<rootDir>/tests/integration"],
    testMatch: ["**/*.test.ts"],
    testEnvironmentOptions: { globalsCleanup: "off" },
    transform: {
        // isolatedModules (tsconfig) makes ts-jest transpile only.
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
};
