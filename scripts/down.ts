// `npm run down`: destroys the dev stack that `npm start` made, checks that nothing of it is left on any
// of its Docker hosts, and says what stays: the images, and the project's backend with the stack's history.
import * as path from "node:path";
import { datacenters, localDir, pulumi, runDocker, stack } from "./project-stack";
import { projectRoot, stackConfig } from "./stack-config";

function main(): number {
    if (pulumi(["destroy", "--yes", "--skip-preview"], true).code !== 0) {
        console.error("npm run down: pulumi destroy failed (see above); run it again, or npm run pulumi -- destroy");
        return 1;
    }
    const left = datacenters().flatMap(({ engine }) =>
        ["container", "network", "volume"].flatMap((kind) => {
            const listed = runDocker([...engine, kind, "ls", ...(kind === "container" ? ["--all"] : []), "--quiet", "--filter", `label=consul.stack=${stack}`]);
            return listed.stdout.trim().split("\n").filter(Boolean).map((id) => `${kind} ${id}`);
        }),
    );
    if (left.length > 0) {
        console.error(`npm run down: pulumi destroy finished, but Docker still has ${[...new Set(left)].join(", ")} labelled consul.stack=${stack}`);
        return 1;
    }
    const config = stackConfig(stack);
    const kept = config.keepData === true ? " Its data volumes were kept (keepData)." : "";
    console.log(
        [
            "",
            `npm run down: the ${stack} cluster is gone: no container, network or volume of it is left.${kept}`,
            `  Kept: the images ${config.image} and ${config.demoImage} (docker rmi to remove them),`,
            `  and the stack's history and passphrase in ${path.relative(projectRoot, localDir)}/ (rm -rf it to forget the stack).`,
            "",
        ].join("\n"),
    );
    return 0;
}

process.exit(main());
