// A stack across three Docker hosts, for the unit tier: dc1 on the local engine, dc2 and dc3 each on a
// tcp:// host with TLS, as the cluster tier deploys it on scripts/test-hosts.sh's hosts.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dockerCertFileNames } from "../../components/model/docker-hosts";
import type { DatacenterSettings } from "../../components/model/settings";
import { stackConfig } from "./program";

const certDirs: string[] = [];
process.once("exit", () => certDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A directory holding empty ca.pem, cert.pem and key.pem, which is all the preview looks at; gone at exit. */
export function fakeCertDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-multi-dc-certs-"));
    dockerCertFileNames.forEach((f) => fs.writeFileSync(path.join(dir, f), ""));
    certDirs.push(dir);
    return dir;
}

/**
 * The dev stack's datacenters (or `base`, e.g. program.ts's meshlessDatacenters()), with dc1 on the local host at .1
 * and dc2, dc3 on the test hosts .2 and .3.
 */
export function acrossHostsDatacenters(
    certPath: string,
    base = stackConfig().datacenters as readonly object[],
): DatacenterSettings[] {
    const [dc1, dc2] = base as DatacenterSettings[];
    const onHost = (n: number) => ({
        dockerHost: `tcp://192.168.77.${n}:2376`,
        dockerCertPath: certPath,
        hostAddress: `192.168.77.${n}`,
    });
    return [
        { ...dc1, hostAddress: "192.168.77.1" },
        { ...dc2, ...onHost(2), httpPort: 8500, dnsPort: 8600 },
        { ...dc2, name: "dc3", subnet: "10.201.3.0/24", ...onHost(3), httpPort: 8500, dnsPort: 8600 },
    ];
}
