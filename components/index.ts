export * from "./containerSpecs";
export * from "./credentials";
export * from "./image";
export * from "./imageContext";
export * from "./network";
export * from "./member";
export * from "./stackConfig";
export * from "./valkeyStack";
