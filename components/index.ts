export * from "./acl";
export * from "./certPlan";
export * from "./config";
export * from "./healthcheckSpec";
export * from "./imageContext";
export * from "./settings";
export * from "./valkeyConf";
export * from "./valkeyStack";
