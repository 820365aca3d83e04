/**
 * Jest for the deployed-stack tier (npm run test:docker, npm run test:pulumi, npm run test:deployed):
 * the real Pulumi engine on a Docker Engine, one file at a time, long timeouts.
 */
module.exports = {
    rootDir: "../..",
    testEnvironment: "node",
    roots: ["<rootDir>/tests/deployed"],
    testMatch: ["**/*.deployed.test.ts"],
    testEnvironmentOptions: { globalsCleanup: "off" },
    maxWorkers: 1,
    testTimeout: 300000,
    transform: {
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
};
