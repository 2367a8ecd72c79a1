// `npm run cluster:down`: removes a cluster kept with KEEP_CLUSTER=1: `pulumi destroy` of the tier's stack,
// then a sweep by the `consul.stack` label in case the state is gone. The image stays.
import { findPulumi } from "../support/engine";
import { tearDown } from "../support/teardown";

async function main(): Promise<void> {
    const pulumi = await findPulumi();
    if (!pulumi) {
        throw new Error("no pulumi CLI on PATH or in ~/.pulumi/bin: run scripts/ensure-pulumi.sh (or npm run prereqs)");
    }
    const left = await tearDown(pulumi);
    if (left.length > 0) {
        throw new Error(`still present: ${left.join(", ")}`);
    }
    console.log("cluster removed: no container, network or volume of the stack is left; the image stays");
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
