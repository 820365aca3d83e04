export * from "./acl";
export * from "./certPlan";
export * from "./conf";
export * from "./contract";
export * from "./info";
export * from "./rotation";
