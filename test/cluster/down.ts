// `npm run cluster:down`: removes a cluster kept with KEEP_CLUSTER=1. The names come from declaring
// the program again, so exactly what the cluster tier created is removed, and the image stays.
import { declareCluster, teardown } from "./lifecycle";

declareCluster()
    .then(({ plan }) => teardown(plan))
    .then((left) => {
        if (left.length > 0) {
            console.error(`still present: ${left.join(", ")}`);
            process.exit(1);
        }
        console.log("cluster removed: no containers, networks or volumes of the stack are left");
    })
    .catch((e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
