import { request } from "node:https";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";

/**
 * Plays kubelet through the public API for controller tests, until the real agent
 * exists: registers one Ready node with room for 110 pods, and for the pods the real
 * scheduler bound to it reports them Running and Ready, completes pods of Jobs
 * (exit 0) when asked, and confirms graceful deletions.
 * The shipped controllers never depend on it.
 */

type Json = Record<string, any>;

function call(cluster: LocalCluster, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: Json }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${cluster.url}${path}`,
      {
        method,
        rejectUnauthorized: false,
        headers: {
          authorization: `Bearer ${cluster.token}`,
          accept: "application/json",
          ...(payload ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export interface KubeletSim {
  stop(): Promise<void>;
}

export async function startKubeletSim(
  cluster: LocalCluster,
  opts: { node?: string; intervalMs?: number; completeJobPods?: boolean } = {},
): Promise<KubeletSim> {
  const node = opts.node ?? "sim-node";
  await call(cluster, "POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: node, labels: { "kubernetes.io/hostname": node } },
    status: {
      capacity: { cpu: "8", memory: "16Gi", pods: "110" },
      allocatable: { cpu: "8", memory: "16Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  });
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await tick(cluster, node, opts.completeJobPods ?? false);
      } catch {
        /* the server may be restarting; try again */
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** One pod IP per pod (10.88.0.10, .11, ...), so Services' endpoints tell pods apart. */
const podIPs = new Map<string, string>();
function podIPFor(uid: string): string {
  let ip = podIPs.get(uid);
  if (!ip) {
    const n = 10 + podIPs.size;
    podIPs.set(uid, (ip = `10.88.${Math.floor(n / 250)}.${n % 250}`));
  }
  return ip;
}

async function tick(cluster: LocalCluster, node: string, completeJobPods: boolean) {
  const pods = (await call(cluster, "GET", "/api/v1/pods")).body.items ?? [];
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  for (const pod of pods) {
    const ns = pod.metadata.namespace;
    const name = pod.metadata.name;
    const base = `/api/v1/namespaces/${ns}/pods/${name}`;
    if (pod.spec.nodeName && pod.spec.nodeName !== node) continue;
    if (pod.metadata.deletionTimestamp) {
      await call(cluster, "DELETE", `${base}?gracePeriodSeconds=0`);
      continue;
    }
    if (!pod.spec.nodeName) continue; // the scheduler binds it
    const isJobPod = (pod.metadata.ownerReferences ?? []).some((r: Json) => r.kind === "Job");
    const phase = isJobPod && completeJobPods ? "Succeeded" : "Running";
    if (pod.status?.phase === phase) continue;
    const ready = phase === "Running";
    const status = {
      phase,
      hostIP: "127.0.0.1",
      podIP: podIPFor(pod.metadata.uid),
      startTime: now,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: now },
        { type: "Initialized", status: "True", lastTransitionTime: now },
        { type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: now },
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: now },
      ],
      containerStatuses: pod.spec.containers.map((c: Json) => ({
        name: c.name,
        image: c.image,
        imageID: "",
        ready,
        restartCount: 0,
        started: ready,
        state: ready ? { running: { startedAt: now } } : { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now } },
      })),
    };
    await call(cluster, "PATCH", `${base}/status`, { status }, "application/merge-patch+json");
  }
}
