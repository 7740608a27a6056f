import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster } from "./cluster.ts";

describe("local control plane with real kubectl", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it("lists namespaces and creates one from YAML", async () => {
    const empty = await kubectl(cluster, ["get", "ns"]);
    assert.equal(empty.code, 0, empty.stderr);
    const applied = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], {
      input: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: smoke\n",
    });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /namespace\/smoke created/);
    const got = await kubectl(cluster, ["get", "ns", "smoke", "-o", "json"]);
    assert.equal(JSON.parse(got.stdout).metadata.name, "smoke");
  });
});
