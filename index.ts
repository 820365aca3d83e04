import * as pulumi from "@pulumi/pulumi";
import { readSettingsInput, ValkeyStack } from "./components";

const stack = new ValkeyStack("molis-valkey", readSettingsInput(new pulumi.Config()));

export const endpoint = stack.endpoint;
export const host = stack.host;
export const port = stack.port;
export const networkName = stack.networkName;
export const containerName = stack.containerName;
export const dataVolumeName = stack.dataVolumeName;
export const imageName = stack.imageName;
export const caCertPem = stack.caCertPem;
export const clientCertPems = stack.clientCertPems;
export const clientKeyPems = stack.clientKeyPems;
export const passwords = stack.passwords;
export const credentialGeneration = stack.credentialGeneration;
export const previousCredentialGeneration = stack.previousCredentialGeneration;
export const previousPasswords = stack.previousPasswords;
export const previousClientCertPems = stack.previousClientCertPems;
export const previousClientKeyPems = stack.previousClientKeyPems;
export const replicas = stack.replicas;
export const primaryName = stack.primaryName;
export const sentinelEndpoints = stack.sentinelEndpoints;
export const nodeEndpoints = stack.nodeEndpoints;
export const containerNames = stack.containerNames;
export const metricsEndpoints = stack.metricsEndpoints;
export const metricsHostEndpoints = stack.metricsHostEndpoints;
export const metricsContainerNames = stack.metricsContainerNames;
