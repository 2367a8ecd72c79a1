// Where each agent sits: fixed host offsets in its datacenter's subnet, so an agent keeps its address for
// as long as its datacenter keeps its subnet. .1 is Docker's gateway, .10 the utility address (acl-init),
// servers from .11, clients from .101, demo service instances from .201, the mesh gateway at .254; on the WAN
// network, servers from .11 in config order, mesh gateways from the top down.
import { hostAddress, hostOffset, type Ipv4Cidr } from "./cidr";
import type { AgentRole } from "./stack-model";

export const serverOffset = 10;
export const clientOffset = 100;
export const instanceOffset = 200;
export const wanOffset = 10;
export const maxServers = clientOffset - serverOffset - 1;
export const maxClients = instanceOffset - clientOffset;
export const maxInstances = 50;

const roleOffset: Record<AgentRole, number> = { server: serverOffset, client: clientOffset };
const roleMax: Record<AgentRole, number> = { server: maxServers, client: maxClients };

/** The LAN address of the `ordinal`-th (1-based) agent of `role`. */
export const lanAddress = (subnet: Ipv4Cidr, role: AgentRole, ordinal: number): string =>
    hostAddress(subnet, roleOffset[role] + ordinal);

/** The agent lanAddress puts at `address` (Docker lists it as "10.201.1.11/24"); undefined for any other address. */
export function agentAt(
    subnet: Ipv4Cidr,
    address: string,
): { readonly role: AgentRole; readonly ordinal: number } | undefined {
    const offset = hostOffset(subnet, address.split("/")[0]);
    const role = (["server", "client"] as const).find(
        (r) => offset !== undefined && offset > roleOffset[r] && offset <= roleOffset[r] + roleMax[r],
    );
    return role && offset !== undefined ? { role, ordinal: offset - roleOffset[role] } : undefined;
}
