export * from "./containerSpecs";
export * from "./credentials";
export * from "./image";
export * from "./imageContext";
export * from "./network";
export * from "./node";
export * from "./stackConfig";
export * from "./valkeyStack";
