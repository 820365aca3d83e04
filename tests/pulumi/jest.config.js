/** Jest for the real-engine suite (`npm run test:pulumi`): one file at a time, long timeouts. */
module.exports = {
    rootDir: "../..",
    testEnvironment: "node",
    roots: ["<rootDir>/tests/pulumi"],
    testMatch: ["**/*.pulumi.test.ts"],
    testEnvironmentOptions: { globalsCleanup: "off" },
    maxWorkers: 1,
    testTimeout: 300000,
    transform: {
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
};
