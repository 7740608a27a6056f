import type { ApiClient } from "./api-client.ts";
import { randomBytes } from "node:crypto";
import type { Pod } from "./container-record.ts";
import { rfc3339 } from "./pod-status.ts";

/** Posts kubelet-style core/v1 Events about pods and the node (best effort: failures are only logged). */

export interface InvolvedObject {
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  apiVersion?: string;
}

export function recordEvent(api: ApiClient, host: string, obj: InvolvedObject, type: "Normal" | "Warning", reason: string, message: string, log: (l: string) => void): void {
  const ns = obj.namespace ?? "default";
  const now = rfc3339(Date.now());
  const body = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${obj.name}.${randomBytes(8).toString("hex")}`, namespace: ns },
    involvedObject: { apiVersion: obj.apiVersion ?? "v1", ...obj },
    reason,
    message,
    type,
    source: { component: "kubelet", host },
    reportingComponent: "kubelet",
    reportingInstance: host,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
  api.call("POST", `/api/v1/namespaces/${ns}/events`, body).catch((e: unknown) => log(`event ${reason} for ${obj.kind} ${obj.name}: ${e instanceof Error ? e.message : String(e)}`));
}

export const podRef = (pod: Pod): InvolvedObject => ({ kind: "Pod", name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid });
