export * from "./checks";
export * from "./errors";
export * from "./formats";
export * from "./kinds";
export * from "./resolve";
export * from "./rules";
export * from "./table";
export * from "./docs";
