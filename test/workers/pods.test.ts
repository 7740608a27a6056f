import { describe, expect, it } from "vitest";
import { apiJson, createNamespace } from "./helpers.ts";

const pod = (name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "main", image: "localhost/busybox:latest", command: ["sleep", "3600"] }] },
});

describe("pods", () => {
  it("applies Kubernetes defaults on create", async () => {
    await createNamespace("pd");
    const r = await apiJson("POST", "/api/v1/namespaces/pd/pods", pod("p"));
    expect(r.status).toBe(201);
    expect(r.body.spec).toMatchObject({ restartPolicy: "Always", terminationGracePeriodSeconds: 30, dnsPolicy: "ClusterFirst", schedulerName: "default-scheduler" });
    expect(r.body.spec.containers[0]).toMatchObject({ imagePullPolicy: "Always", terminationMessagePath: "/dev/termination-log" });
    expect(r.body.status.phase).toBe("Pending");
  });

  it("rejects pods without containers or with bad ports with 422 causes", async () => {
    await createNamespace("pv");
    const none = await apiJson("POST", "/api/v1/namespaces/pv/pods", { ...pod("x"), spec: { containers: [] } });
    expect(none.status).toBe(422);
    expect(none.body.details.causes.map((c: { field: string }) => c.field)).toContain("spec.containers");
    const port = await apiJson("POST", "/api/v1/namespaces/pv/pods", {
      ...pod("y"),
      spec: { containers: [{ name: "c", image: "i", ports: [{ containerPort: 70000 }] }] },
    });
    expect(port.status).toBe(422);
    expect(port.body.details.causes[0].field).toBe("spec.containers[0].ports[0].containerPort");
  });

  it("binds a pod to a node exactly once", async () => {
    await createNamespace("pb");
    await apiJson("POST", "/api/v1/namespaces/pb/pods", pod("p"));
    const binding = { apiVersion: "v1", kind: "Binding", metadata: { name: "p" }, target: { apiVersion: "v1", kind: "Node", name: "node-a" } };
    const results = await Promise.all([
      apiJson("POST", "/api/v1/namespaces/pb/pods/p/binding", binding),
      apiJson("POST", "/api/v1/namespaces/pb/pods/p/binding", { ...binding, target: { ...binding.target, name: "node-b" } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const got = await apiJson("GET", "/api/v1/namespaces/pb/pods/p");
    expect(["node-a", "node-b"]).toContain(got.body.spec.nodeName);
    expect(got.body.status.conditions.find((c: { type: string }) => c.type === "PodScheduled").status).toBe("True");
  });

  it("status updates go through /status and leave the spec alone", async () => {
    await createNamespace("ps");
    const created = await apiJson("POST", "/api/v1/namespaces/ps/pods", pod("p"));
    const viaStatus = await apiJson("PUT", "/api/v1/namespaces/ps/pods/p/status", {
      ...created.body,
      spec: { ...created.body.spec, containers: [{ name: "main", image: "changed" }] },
      status: { phase: "Running", podIP: "10.0.0.5" },
    });
    expect(viaStatus.status).toBe(200);
    expect(viaStatus.body.status.phase).toBe("Running");
    expect(viaStatus.body.spec.containers[0].image).toBe("localhost/busybox:latest");
    const viaMain = await apiJson("PUT", "/api/v1/namespaces/ps/pods/p", { ...viaStatus.body, status: { phase: "Failed" } });
    expect(viaMain.status).toBe(200);
    expect(viaMain.body.status.phase).toBe("Running");
  });

  it("evicts a pod through pods/eviction", async () => {
    await createNamespace("pe");
    await apiJson("POST", "/api/v1/namespaces/pe/pods", pod("p"));
    const r = await apiJson("POST", "/api/v1/namespaces/pe/pods/p/eviction", { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "p" } });
    expect(r.status).toBe(201);
    expect((await apiJson("GET", "/api/v1/namespaces/pe/pods/p")).status).toBe(404);
  });

  it("answers pods/log of an unscheduled pod with 400, and of a pod on an unconnected node with 503", async () => {
    await createNamespace("pl");
    await apiJson("POST", "/api/v1/namespaces/pl/pods", pod("p"));
    const unscheduled = await apiJson("GET", "/api/v1/namespaces/pl/pods/p/log");
    expect(unscheduled.status).toBe(400);
    expect(unscheduled.body.message).toBe("pod p does not have a host assigned");
    await apiJson("POST", "/api/v1/namespaces/pl/pods", { ...pod("q"), spec: { ...pod("q").spec, nodeName: "nowhere" } });
    const offline = await apiJson("GET", "/api/v1/namespaces/pl/pods/q/log");
    expect(offline.status).toBe(503);
    expect(offline.body.kind).toBe("Status");
  });

  it("deletes a pod bound to an existing node gracefully, and at once with gracePeriodSeconds=0", async () => {
    await createNamespace("pg");
    await apiJson("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "node-g" } });
    await apiJson("POST", "/api/v1/namespaces/pg/pods", pod("p"));
    await apiJson("POST", "/api/v1/namespaces/pg/pods/p/binding", { target: { name: "node-g" } });
    const del = await apiJson("DELETE", "/api/v1/namespaces/pg/pods/p");
    expect(del.status).toBe(202);
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    expect(del.body.metadata.deletionGracePeriodSeconds).toBe(30);
    const confirm = await apiJson("DELETE", "/api/v1/namespaces/pg/pods/p?gracePeriodSeconds=0");
    expect(confirm.status).toBe(200);
    expect((await apiJson("GET", "/api/v1/namespaces/pg/pods/p")).status).toBe(404);
  });
});

describe("pods with finalizers under graceful deletion", () => {
  it("waits for the agent's grace-0 delete after the last finalizer goes, then deletes", async () => {
    await createNamespace("pf");
    await apiJson("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "node-f" } });
    await apiJson("POST", "/api/v1/namespaces/pf/pods", { ...pod("p"), metadata: { name: "p", finalizers: ["example.com/hold"] } });
    await apiJson("POST", "/api/v1/namespaces/pf/pods/p/binding", { target: { name: "node-f" } });
    const del = await apiJson("DELETE", "/api/v1/namespaces/pf/pods/p");
    expect(del.body.metadata.deletionGracePeriodSeconds).toBe(30);
    // Removing the finalizer while the pod is still stopping keeps it.
    const unheld = await apiJson("PATCH", "/api/v1/namespaces/pf/pods/p", { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
    expect(unheld.status).toBe(200);
    expect(unheld.body.metadata.deletionTimestamp).toBeTruthy();
    expect((await apiJson("GET", "/api/v1/namespaces/pf/pods/p")).status).toBe(200);
    // The agent confirms: gone.
    expect((await apiJson("DELETE", "/api/v1/namespaces/pf/pods/p?gracePeriodSeconds=0")).status).toBe(200);
    expect((await apiJson("GET", "/api/v1/namespaces/pf/pods/p")).status).toBe(404);
  });

  it("a grace-0 delete of a terminating pod that still has finalizers shortens the grace, and the last finalizer's removal deletes", async () => {
    await createNamespace("pf2");
    await apiJson("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "node-f2" } });
    await apiJson("POST", "/api/v1/namespaces/pf2/pods", { ...pod("p"), metadata: { name: "p", finalizers: ["example.com/hold"] } });
    await apiJson("POST", "/api/v1/namespaces/pf2/pods/p/binding", { target: { name: "node-f2" } });
    await apiJson("DELETE", "/api/v1/namespaces/pf2/pods/p");
    const shortened = await apiJson("DELETE", "/api/v1/namespaces/pf2/pods/p?gracePeriodSeconds=0");
    expect(shortened.status).toBe(202);
    expect(shortened.body.metadata.deletionGracePeriodSeconds).toBe(0);
    const gone = await apiJson("PATCH", "/api/v1/namespaces/pf2/pods/p", { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
    expect(gone.status).toBe(200);
    expect((await apiJson("GET", "/api/v1/namespaces/pf2/pods/p")).status).toBe(404);
  });
});
