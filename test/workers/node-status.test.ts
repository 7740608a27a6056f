import { describe, expect, it } from "vitest";
import { apiJson } from "./helpers.ts";

/** A node (or anyone) reporting a malformed Node status gets a 422 naming the field; nothing is stored. */

const node = (name: string, status: unknown) => ({ apiVersion: "v1", kind: "Node", metadata: { name }, status });

describe("node status validation", () => {
  const garbage: Array<[string, unknown, string]> = [
    
    ["conditions-object", { conditions: { type: "Ready" } }, "status.conditions"],
    ["condition-no-type", { conditions: [{ status: "True" }] }, "status.conditions[0].type"],
    ["condition-bad-status", { conditions: [{ type: "Ready", status: "yes" }] }, "status.conditions[0].status"],
    ["condition-dup", { conditions: [{ type: "Ready", status: "True" }, { type: "Ready", status: "False" }] }, "status.conditions[1].type"],
    ["address-number", { addresses: [{ type: "InternalIP", address: 7 }] }, "status.addresses[0].address"],
    ["address-no-type", { addresses: [{ address: "10.0.0.1" }] }, "status.addresses[0].type"],
    ["nodeinfo-number", { nodeInfo: { kubeletVersion: 3 } }, "status.nodeInfo.kubeletVersion"],
    ["capacity-bad", { capacity: { cpu: "lots" } }, "status.capacity[cpu]"],
    ["port-bad", { daemonEndpoints: { kubeletEndpoint: { Port: -1 } } }, "status.daemonEndpoints.kubeletEndpoint.Port"],
  ];
  for (const [name, status, field] of garbage) {
    it(`${name} -> 422 on ${field}`, async () => {
      const r = await apiJson("POST", "/api/v1/nodes", node(`garbage-${name}`, status));
      expect(r.status).toBe(422);
      expect(r.body.reason).toBe("Invalid");
      expect(r.body.details.causes.map((c: { field: string }) => c.field)).toContain(field);
      expect((await apiJson("GET", `/api/v1/nodes/garbage-${name}`)).status).toBe(404);
    });
  }

  it("a status that is not an object -> 400 (as Go's decoder refuses it)", async () => {
    const r = await apiJson("POST", "/api/v1/nodes", node("garbage-string", "garbage"));
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("status must be an object");
    expect((await apiJson("GET", "/api/v1/nodes/garbage-string")).status).toBe(404);
  });

  it("a garbage status update through nodes/status is refused and the old status kept", async () => {
    const good = { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }], addresses: [{ type: "InternalIP", address: "10.0.0.9" }] };
    expect((await apiJson("POST", "/api/v1/nodes", node("garbage-update", good))).status).toBe(201);
    const cur = (await apiJson("GET", "/api/v1/nodes/garbage-update")).body;
    const r = await apiJson("PUT", "/api/v1/nodes/garbage-update/status", { ...cur, status: { ...cur.status, conditions: [{ type: "Ready", status: 1 }] } });
    expect(r.status).toBe(422);
    const after = (await apiJson("GET", "/api/v1/nodes/garbage-update")).body;
    expect(after.status.conditions[0].status).toBe("True");
    expect(after.metadata.resourceVersion).toBe(cur.metadata.resourceVersion);
  });
});
