import { env, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { api, apiJson, createNamespace, eventually } from "./helpers.ts";

/** Pod Security admission and the admin-only Service/Endpoints fields, through the real Worker and hubs. */

const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
});
const label = (ns: string, labels: Record<string, string>) =>
  apiJson("PATCH", `/api/v1/namespaces/${ns}`, { metadata: { labels } }, { contentType: "application/merge-patch+json" });
const warningsOf = (res: Response) => (res.headers.get("warning") ?? "").split(/,\s*(?=299 )/).filter(Boolean);

let tenant: { token: string };

beforeAll(async () => {
  const t = await apiJson("POST", "/edgeplane/v1/tenants", { name: "psa", namespaces: ["psa-dev"] });
  if (t.status !== 201) throw new Error(JSON.stringify(t.body));
  tenant = { token: t.body.token };
});

describe("Pod Security admission", () => {
  it("enforce refuses a violating pod with Kubernetes' message (also in dry run); a compliant pod is created", async () => {
    await createNamespace("psa-enforce");
    expect((await label("psa-enforce", { "pod-security.kubernetes.io/enforce": "baseline" })).status).toBe(200);
    const r = await apiJson("POST", "/api/v1/namespaces/psa-enforce/pods", pod("hostnet", { hostNetwork: true, containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] }));
    expect(r.status).toBe(403);
    expect(r.body.reason).toBe("Forbidden");
    expect(r.body.message).toBe(
      'pods "hostnet" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true)',
    );
    expect((await apiJson("POST", "/api/v1/namespaces/psa-enforce/pods?dryRun=All", pod("hostnet", { hostNetwork: true }))).status).toBe(403);
    expect((await apiJson("POST", "/api/v1/namespaces/psa-enforce/pods", pod("plain"))).status).toBe(201);
    // relabelled privileged: the same pod is admitted at once
    expect((await label("psa-enforce", { "pod-security.kubernetes.io/enforce": "privileged" })).status).toBe(200);
    expect((await apiJson("POST", "/api/v1/namespaces/psa-enforce/pods", pod("hostnet", { hostNetwork: true }))).status).toBe(201);
  });

  it("warn answers with a Warning header, audit annotates the pod; both admit it", async () => {
    await createNamespace("psa-warn");
    await label("psa-warn", { "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "v1.32", "pod-security.kubernetes.io/audit": "baseline" });
    const res = await api("POST", "/api/v1/namespaces/psa-warn/pods", pod("loose", { hostPID: true }));
    expect(res.status).toBe(201);
    const warnings = warningsOf(res);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^299 - "would violate PodSecurity \\"restricted:v1.32\\": host namespaces \(hostPID=true\), allowPrivilegeEscalation != false/);
    const created = (await res.json()) as { metadata: { annotations: Record<string, string> } };
    expect(created.metadata.annotations["pod-security.kubernetes.io/audit-violations"]).toBe('would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)');
  });

  it("warns about a Deployment's template; its controller's pods are refused (FailedCreate)", async () => {
    await createNamespace("psa-deploy");
    await label("psa-deploy", { "pod-security.kubernetes.io/enforce": "baseline" });
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { hostNetwork: true, containers: [{ name: "c", image: "busybox" }] } },
      },
    };
    const res = await api("POST", "/apis/apps/v1/namespaces/psa-deploy/deployments", deployment);
    expect(res.status).toBe(201);
    expect(warningsOf(res)).toEqual(['299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces (hostNetwork=true)"']);
    const hub = env.HUB.get(env.HUB.idFromName("ns:psa-deploy"));
    const event = await eventually(
      async () => {
        const events = (await apiJson("GET", "/api/v1/namespaces/psa-deploy/events")).body.items as { reason: string; message: string; involvedObject: { kind: string } }[];
        const failed = events.find((e) => e.reason === "FailedCreate");
        expect(failed).toBeDefined();
        return failed!;
      },
      () => runDurableObjectAlarm(hub),
    );
    expect(event.involvedObject.kind).toBe("ReplicaSet");
    expect(event.message).toMatch(/^Error creating: pods "web-[a-z0-9]+-" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)$/);
    expect((await apiJson("GET", "/api/v1/namespaces/psa-deploy/pods")).body.items).toHaveLength(0);
  });

  it("tenant namespaces enforce baseline by default", async () => {
    const ns = (await apiJson("GET", "/api/v1/namespaces/psa-dev")).body;
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("baseline");
    const r = await apiJson("POST", "/api/v1/namespaces/psa-dev/pods", pod("escape", { hostPID: true }), { token: tenant.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('violates PodSecurity "baseline:latest": host namespaces (hostPID=true)');
    // and the tenant cannot relabel its namespace
    const relabel = await apiJson("PATCH", "/api/v1/namespaces/psa-dev", { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } }, { token: tenant.token, contentType: "application/merge-patch+json" });
    expect(relabel.status).toBe(403);
  });
});

describe("admin-only Service and Endpoints fields", () => {
  const svc = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { ports: [{ port: 80 }], ...extra },
  });

  it("refuses externalIPs from a tenant, allows them to the admin", async () => {
    const r = await apiJson("POST", "/api/v1/namespaces/psa-dev/services", svc("ext", { externalIPs: ["203.0.113.9"] }), { token: tenant.token });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('services "ext" is forbidden: spec.externalIPs may only be set by a cluster administrator');
    expect((await apiJson("POST", "/api/v1/namespaces/psa-dev/services", svc("plain"), { token: tenant.token })).status).toBe(201);
    const patched = await apiJson("PATCH", "/api/v1/namespaces/psa-dev/services/plain", { spec: { externalIPs: ["203.0.113.9"] } }, { token: tenant.token, contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(403);
    const admin = await apiJson("PATCH", "/api/v1/namespaces/psa-dev/services/plain", { spec: { externalIPs: ["203.0.113.9"] } }, { contentType: "application/merge-patch+json" });
    expect(admin.status).toBe(200);
    // the tenant may still change other fields of a Service the admin gave externalIPs
    const label2 = await apiJson("PATCH", "/api/v1/namespaces/psa-dev/services/plain", { metadata: { labels: { a: "b" } } }, { token: tenant.token, contentType: "application/merge-patch+json" });
    expect(label2.status).toBe(200);
  });

  it("lets tenants point Endpoints and EndpointSlices only at their own namespace's pod IPs; never at loopback", async () => {
    expect((await apiJson("POST", "/api/v1/namespaces/psa-dev/pods", pod("backend"), { token: tenant.token })).status).toBe(201);
    const st = await apiJson("GET", "/api/v1/namespaces/psa-dev/pods/backend");
    st.body.status = { ...st.body.status, podIP: "10.244.7.7", podIPs: [{ ip: "10.244.7.7" }] };
    expect((await apiJson("PUT", "/api/v1/namespaces/psa-dev/pods/backend/status", st.body)).status).toBe(200);
    const ep = (ip: string) => ({ apiVersion: "v1", kind: "Endpoints", metadata: { name: "manual" }, subsets: [{ addresses: [{ ip }], ports: [{ port: 80 }] }] });
    const foreign = await apiJson("POST", "/api/v1/namespaces/psa-dev/endpoints", ep("10.244.9.9"), { token: tenant.token });
    expect(foreign.status).toBe(403);
    expect(foreign.body.message).toBe('endpoints "manual" is forbidden: 10.244.9.9 is not the IP of a pod in namespace "psa-dev"; only a cluster administrator may point endpoints elsewhere');
    expect((await apiJson("POST", "/api/v1/namespaces/psa-dev/endpoints", ep("10.244.7.7"), { token: tenant.token })).status).toBe(201);
    const loop = await apiJson("PUT", "/api/v1/namespaces/psa-dev/endpoints/manual", ep("127.0.0.1"));
    expect(loop.status).toBe(422);
    expect(loop.body.message).toContain("may not be in the loopback range");
    const slice = (ip: string) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "manual-1" },
      addressType: "IPv4",
      endpoints: [{ addresses: [ip] }],
      ports: [{ port: 80 }],
    });
    // the built-in roles let tenants read slices only (as Kubernetes' edit/admin): the admin grants writing them here
    const rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/psa-dev";
    expect((await apiJson("POST", `${rbac}/roles`, { metadata: { name: "slices" }, rules: [{ apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["create"] }] })).status).toBe(201);
    const binding = { metadata: { name: "slices" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "slices" }, subjects: [{ kind: "Group", name: "edgeplane:tenant:psa" }] };
    expect((await apiJson("POST", `${rbac}/rolebindings`, binding)).status).toBe(201);
    const foreignSlice = await apiJson("POST", "/apis/discovery.k8s.io/v1/namespaces/psa-dev/endpointslices", slice("10.96.0.1"), { token: tenant.token });
    expect(foreignSlice.status).toBe(403);
    expect(foreignSlice.body.message).toContain('endpointslices.discovery.k8s.io "manual-1" is forbidden: 10.96.0.1 is not the IP of a pod in namespace "psa-dev"');
    expect((await apiJson("POST", "/apis/discovery.k8s.io/v1/namespaces/psa-dev/endpointslices", slice("169.254.169.254"))).status).toBe(422);
    expect((await apiJson("POST", "/apis/discovery.k8s.io/v1/namespaces/psa-dev/endpointslices", slice("10.244.7.7"), { token: tenant.token })).status).toBe(201);
    // the admin may point anywhere routable
    expect((await apiJson("POST", "/apis/discovery.k8s.io/v1/namespaces/psa-dev/endpointslices", { ...slice("192.0.2.10"), metadata: { name: "manual-2" } })).status).toBe(201);
  });
});
