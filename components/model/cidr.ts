// IPv4 CIDR arithmetic for the fixed addresses of every agent. Pure: no Pulumi, no Docker.

export interface Ipv4Cidr {
    readonly text: string;
    readonly network: number;
    readonly prefix: number;
}

const ipv4Pattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): number | undefined {
    const match = ipv4Pattern.exec(text);
    if (!match) {
        return undefined;
    }
    const octets = match.slice(1).map(Number);
    if (octets.some((o) => o > 255)) {
        return undefined;
    }
    return octets.reduce((acc, o) => acc * 256 + o, 0);
}

function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses "a.b.c.d/p"; returns a reason instead when the text is not a network address in CIDR form. */
export function parseCidr(text: unknown): Ipv4Cidr | string {
    if (typeof text !== "string") {
        return "must be an IPv4 CIDR string such as 10.201.1.0/24";
    }
    const [address, prefixText, ...rest] = text.split("/");
    const network = parseIpv4(address);
    const prefix = Number(prefixText);
    if (network === undefined || rest.length > 0 || !/^\d+$/.test(prefixText ?? "")) {
        return `must be an IPv4 CIDR such as 10.201.1.0/24, not "${text}"`;
    }
    if (prefix < 8 || prefix > 24) {
        return `must have a prefix length from /8 to /24 (room for the fixed agent addresses), not /${prefix}`;
    }
    if (network % 2 ** (32 - prefix) !== 0) {
        return `must be a network address: "${text}" has host bits set`;
    }
    return { text, network, prefix };
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    const aEnd = a.network + 2 ** (32 - a.prefix);
    const bEnd = b.network + 2 ** (32 - b.prefix);
    return a.network < bEnd && b.network < aEnd;
}

/** The address `offset` hosts into the network; offset 1 is Docker's gateway. */
export function hostAddress(cidr: Ipv4Cidr, offset: number): string {
    return formatIpv4(cidr.network + offset);
}
