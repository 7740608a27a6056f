import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { commitWrites, openDb, type Write } from "../../src/store/revision-log.ts";
import { AllocationRace, ServiceAllocation } from "../../src/store/service-allocation.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { apiJson, createNamespace } from "./helpers.ts";

/** Cluster IPs and node ports: allocated atomically with the Service's commit. */

const service = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
});

const ipOf = (r: { body: { spec: { clusterIP: string } } }) => r.body.spec.clusterIP;
const inRange = (ip: string) => /^10\.96\.\d{1,3}\.\d{1,3}$/.test(ip) && ip !== "10.96.0.0" && ip !== "10.96.0.1" && ip !== "10.96.255.255";

describe("service cluster IPs and node ports", () => {
  it("concurrent creates in two namespaces never share an IP", async () => {
    await createNamespace("alloc-a");
    await createNamespace("alloc-b");
    const creates = [];
    for (let i = 0; i < 24; i++) creates.push(apiJson("POST", `/api/v1/namespaces/alloc-${i % 2 ? "a" : "b"}/services`, service(`s${i}`)));
    const results = await Promise.all(creates);
    expect(results.map((r) => r.status)).toEqual(Array(24).fill(201));
    const ips = results.map(ipOf);
    expect(new Set(ips).size).toBe(24);
    for (const r of results) {
      expect(inRange(ipOf(r))).toBe(true);
      expect(r.body.spec.clusterIPs).toEqual([ipOf(r)]);
    }
    const rows = await env.DB.prepare("SELECT id, owner FROM allocations WHERE owner LIKE 'core/services/alloc-%'").all<{ id: string; owner: string }>();
    expect(rows.results.map((r) => r.id).sort()).toEqual(ips.map((ip) => `ip:${ip}`).sort());
  });

  it("the same chosen IP created concurrently: exactly one wins, the other is 422 already allocated", async () => {
    await createNamespace("alloc-race");
    const [a, b] = await Promise.all([
      apiJson("POST", "/api/v1/namespaces/alloc-race/services", service("x", { clusterIP: "10.96.200.7" })),
      apiJson("POST", "/api/v1/namespaces/alloc-race/services", service("y", { clusterIP: "10.96.200.7" })),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 422]);
    const loser = a.status === 422 ? a : b;
    expect(loser.body.message).toMatch(/spec\.clusterIPs: Invalid value: \[\]string\{"10\.96\.200\.7"\}: failed to allocate IP 10\.96\.200\.7: provided IP is already allocated$/);
  });

  it("honours a chosen IP, rejects a taken or out-of-range one, keeps it immutable and frees it on delete", async () => {
    await createNamespace("alloc-user");
    const a = await apiJson("POST", "/api/v1/namespaces/alloc-user/services", service("a", { clusterIP: "10.96.100.100" }));
    expect(a.status).toBe(201);
    expect(a.body.spec.clusterIPs).toEqual(["10.96.100.100"]);
    const dup = await apiJson("POST", "/api/v1/namespaces/alloc-user/services", service("b", { clusterIP: "10.96.100.100" }));
    expect(dup.status).toBe(422);
    expect(dup.body.message).toBe(
      'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.100.100"}: failed to allocate IP 10.96.100.100: provided IP is already allocated',
    );
    const out = await apiJson("POST", "/api/v1/namespaces/alloc-user/services", service("c", { clusterIP: "192.168.0.10" }));
    expect(out.status).toBe(422);
    expect(out.body.message).toBe(
      'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"192.168.0.10"}: failed to allocate IP 192.168.0.10: the provided IP (192.168.0.10) is not in the valid range. The range of valid IPs is 10.96.0.0/16',
    );
    const changed = await apiJson(
      "PATCH",
      "/api/v1/namespaces/alloc-user/services/a",
      { spec: { clusterIP: "10.96.100.101", clusterIPs: ["10.96.100.101"] } },
      { contentType: "application/merge-patch+json" },
    );
    expect(changed.status).toBe(422);
    expect(changed.body.message).toContain("spec.clusterIPs[0]");
    expect(changed.body.message).toContain("may not change once set");
    // A headless service holds nothing.
    expect((await apiJson("POST", "/api/v1/namespaces/alloc-user/services", service("h", { clusterIP: "None" }))).body.spec.clusterIP).toBe("None");

    expect((await apiJson("DELETE", "/api/v1/namespaces/alloc-user/services/a")).status).toBe(200);
    const again = await apiJson("POST", "/api/v1/namespaces/alloc-user/services", service("b", { clusterIP: "10.96.100.100" }));
    expect(again.status).toBe(201);
    const rows = await env.DB.prepare("SELECT id, owner FROM allocations WHERE owner LIKE 'core/services/alloc-user/%'").all();
    expect(rows.results).toEqual([{ id: "ip:10.96.100.100", owner: "core/services/alloc-user/b" }]);
  });

  it("NodePort: ports from 30000-32767, a taken one is 422, switching a ClusterIP service to NodePort allocates", async () => {
    await createNamespace("alloc-np");
    const np = await apiJson("POST", "/api/v1/namespaces/alloc-np/services", service("np", { type: "NodePort", ports: [{ name: "a", port: 80 }, { name: "b", port: 81, nodePort: 31234 }] }));
    expect(np.status).toBe(201);
    const [p0, p1] = np.body.spec.ports.map((p: { nodePort: number }) => p.nodePort);
    expect(p0).toBeGreaterThanOrEqual(30000);
    expect(p0).toBeLessThanOrEqual(32767);
    expect(p1).toBe(31234);
    const taken = await apiJson("POST", "/api/v1/namespaces/alloc-np/services", service("np2", { type: "NodePort", ports: [{ port: 80, nodePort: 31234 }] }));
    expect(taken.status).toBe(422);
    expect(taken.body.message).toBe('Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 31234: provided port is already allocated');

    const plain = await apiJson("POST", "/api/v1/namespaces/alloc-np/services", service("later"));
    const switched = await apiJson("PATCH", "/api/v1/namespaces/alloc-np/services/later", { spec: { type: "NodePort" } }, { contentType: "application/merge-patch+json" });
    expect(switched.status).toBe(200);
    expect(switched.body.spec.clusterIP).toBe(plain.body.spec.clusterIP);
    const port = switched.body.spec.ports[0].nodePort;
    expect(port).toBeGreaterThanOrEqual(30000);
    const rows = await env.DB.prepare("SELECT id FROM allocations WHERE owner = 'core/services/alloc-np/later' ORDER BY id").all<{ id: string }>();
    expect(rows.results.map((r) => r.id)).toEqual([`ip:${plain.body.spec.clusterIP}`, `nodeport:${port}`]);

    // Back to ClusterIP with only `type` changed: the node port is dropped and released for others.
    const back = await apiJson("PATCH", "/api/v1/namespaces/alloc-np/services/later", { spec: { type: "ClusterIP" } }, { contentType: "application/merge-patch+json" });
    expect(back.status).toBe(200);
    expect(back.body.spec.ports[0].nodePort).toBeUndefined();
    expect(back.body.spec.externalTrafficPolicy).toBeUndefined();
    const left = await env.DB.prepare("SELECT id FROM allocations WHERE owner = 'core/services/alloc-np/later'").all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual([`ip:${plain.body.spec.clusterIP}`]);
    const reuse = await apiJson("POST", "/api/v1/namespaces/alloc-np/services", service("reuse", { type: "NodePort", ports: [{ port: 80, nodePort: port }] }));
    expect(reuse.status).toBe(201);
  });

  it("in one group-committed batch, the second claim of an id fails and the first commits", async () => {
    const db = openDb(env.DB);
    const w = (name: string): Write => ({
      type: "ADDED",
      key: `core/services/alloc-batch/${name}`,
      resource: "core/services",
      namespace: "alloc-batch",
      name,
      value: JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name } }),
      expectedRev: null,
      claims: ["ip:10.96.250.1"],
    });
    const [first, second] = await commitWrites(db, [w("one"), w("two")]);
    expect(first.ok).toBe(true);
    expect(second.ok).toBe(false);
    const objects = await env.DB.prepare("SELECT name FROM objects WHERE namespace = 'alloc-batch'").all();
    expect(objects.results).toEqual([{ name: "one" }]);
    const rows = await env.DB.prepare("SELECT id, owner FROM allocations WHERE id = 'ip:10.96.250.1'").all();
    expect(rows.results).toEqual([{ id: "ip:10.96.250.1", owner: "core/services/alloc-batch/one" }]);
  });

  it("losing the race for a picked value picks another; losing it for a chosen one is the 422", async () => {
    const db = openDb(env.DB);
    const svc = service("picked", { type: "NodePort" }) as unknown as KubeObject;
    const a = new ServiceAllocation(db, env, svc, undefined, "core/services/alloc-retry/picked");
    await a.allocate();
    const spec = svc.spec as { clusterIP: string; ports: { nodePort: number }[] };
    const [firstIP, firstPort] = [spec.clusterIP, spec.ports[0].nodePort];
    const seen: [string, number][] = [];
    const result = await a.commit(async () => {
      seen.push([spec.clusterIP, spec.ports[0].nodePort]);
      if (seen.length === 1) throw new AllocationRace([`ip:${firstIP}`, `nodeport:${firstPort}`]);
      return "committed";
    });
    expect(result).toBe("committed");
    expect(seen).toHaveLength(2);
    expect(seen[1][0]).not.toBe(firstIP);
    expect(seen[1][1]).not.toBe(firstPort);
    expect(spec.clusterIP).toMatch(/^10\.96\./);

    const chosen = service("chosen", { clusterIP: "10.96.77.7" }) as unknown as KubeObject;
    const b = new ServiceAllocation(db, env, chosen, undefined, "core/services/alloc-retry/chosen");
    await b.allocate();
    await expect(b.commit(() => Promise.reject(new AllocationRace(["ip:10.96.77.7"])))).rejects.toMatchObject({
      code: 422,
      message: 'Service "chosen" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.77.7"}: failed to allocate IP 10.96.77.7: provided IP is already allocated',
    });
  });
});
