/** Jest: transpile-only TypeScript (type-checking runs once, in `npm run typecheck`). */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/docker/", "<rootDir>/tests/pulumi/"],
    testEnvironmentOptions: { globalsCleanup: "off" },
    transform: {
        // isolatedModules (tsconfig) makes ts-jest transpile only.
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
};
