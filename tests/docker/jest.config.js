/** Jest for the Docker Engine suite (`npm run test:docker`): one file at a time, long timeouts. */
module.exports = {
    rootDir: "../..",
    testEnvironment: "node",
    roots: ["<rootDir>/tests/docker"],
    testMatch: ["**/*.docker.test.ts"],
    testEnvironmentOptions: { globalsCleanup: "off" },
    maxWorkers: 1,
    testTimeout: 300000,
    transform: {
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
};
