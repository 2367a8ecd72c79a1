// Shard 1 of the unit tier (test/unit.ts says why there are shards).
import { loadShard } from "../unit";

loadShard(1);
