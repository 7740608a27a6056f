import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { stringify } from "yaml";

/** Writes a kubeconfig for one cluster and one bearer-token user (file mode 0600). */
export function kubeconfigYaml(o: { server: string; token: string; user: string; cluster: string; namespace?: string }): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: o.cluster, cluster: { server: o.server, "insecure-skip-tls-verify": true } }],
    users: [{ name: o.user, user: { token: o.token } }],
    contexts: [{ name: o.cluster, context: { cluster: o.cluster, user: o.user, ...(o.namespace ? { namespace: o.namespace } : {}) } }],
    "current-context": o.cluster,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, o: Parameters<typeof kubeconfigYaml>[0]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigYaml(o), { mode: 0o600 });
}
