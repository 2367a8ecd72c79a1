// Each agent's Consul node ID, derived from its datacenter and node name alone.
//
// Consul otherwise makes a random node ID the first time an agent starts. A snapshot restored into a stack
// made since then holds the old IDs under the same node names, and the catalog then refuses every agent
// ("Node name dc1-server2 is reserved by node …") until the stale entries go. With the same ID for the
// same name in every stack of this project, a restored catalog already lists each agent as itself.
import { createHash } from "node:crypto";

/** A UUID (version 8, RFC 9562: application-defined) from a SHA-256 of the datacenter and node name. */
export function nodeId(datacenter: string, nodeName: string): string {
    const bytes = createHash("sha256").update(`consul-multi-dc/${datacenter}/${nodeName}`).digest().subarray(0, 16);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = bytes.toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
