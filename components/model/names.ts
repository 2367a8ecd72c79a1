// Every name the stack gives a Docker object, made here only: the model carries each one (stack-model.ts)
// and everything later reads it there. `prefix` is the stack's namePrefix, so stacks can share a host.
import type { AgentRole } from "./stack-model";

/** Container name, hostname and Consul node name of an agent, e.g. dc1-server1. */
export const agentName = (prefix: string, datacenter: string, role: AgentRole, ordinal: number): string =>
    `${prefix}${datacenter}-${role}${ordinal}`;

/** The Docker volume that holds an agent's data directory. */
export const dataVolumeName = (agent: string): string => `${agent}-data`;

export const lanNetworkName = (prefix: string, datacenter: string): string => `${prefix}${datacenter}-lan`;

export const wanNetworkName = (prefix: string): string => `${prefix}consul-wan`;

/**
 * The first datacenter's acl-init container keeps the name it always had; a peering cluster's carries its
 * datacenter.
 */
export const aclInitContainerName = (prefix: string, datacenter: string, first: boolean): string =>
    `${prefix}consul-acl-init${first ? "" : `-${datacenter}`}`;

/** Container name and Consul service ID of a demo service instance, e.g. dc1-web-1. */
export const serviceInstanceId = (prefix: string, datacenter: string, service: string, ordinal: number): string =>
    `${prefix}${datacenter}-${service}-${ordinal}`;

/** The container of a service instance's Envoy sidecar, e.g. dc1-web-1-sidecar. */
export const sidecarContainerName = (instance: string): string => `${instance}-sidecar`;

/** Container name and Consul service ID of a datacenter's mesh gateway, e.g. dc1-mesh-gateway. */
export const meshGatewayName = (prefix: string, datacenter: string): string => `${prefix}${datacenter}-mesh-gateway`;
