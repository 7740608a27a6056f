/**
 * A Deployment of busybox httpd pods pinned to one node, for the edge's e2e test and bench: each pod
 * serves `files` (path under its document root -> content; `$POD_NAME` expands to the pod's name)
 * from /tmp/edge-<pod> on port 8080 (named "http"); with `readinessFile` the pod is unready while
 * /tmp/edge-<pod>/unready exists.
 */
export function httpdDeployment(o: {
  name: string;
  node: string;
  replicas: number;
  files: Record<string, string>;
  readinessFile?: boolean;
  /** Also serve /zeros: this many MiB of zero bytes. */
  zerosMiB?: number;
}): Record<string, unknown> {
  const writes = Object.entries(o.files).map(([path, content]) => {
    const dir = path.includes("/") ? `mkdir -p $d/${path.slice(0, path.lastIndexOf("/"))}; ` : "";
    return `${dir}printf '%s\\n' "${content}" > $d/${path}`;
  });
  if (o.zerosMiB) writes.push(`dd if=/dev/zero of=$d/zeros bs=1048576 count=${o.zerosMiB} 2>/dev/null`);
  const script = ["d=/tmp/edge-$POD_NAME; rm -rf $d; mkdir -p $d", ...writes, "exec busybox httpd -f -p 8080 -h $d"].join("; ");
  const container: Record<string, unknown> = {
    name: "httpd",
    image: "busybox",
    command: ["sh", "-c", script],
    env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
    ports: [{ name: "http", containerPort: 8080 }],
  };
  if (o.readinessFile) container.readinessProbe = { exec: { command: ["sh", "-c", "test ! -f /tmp/edge-$POD_NAME/unready"] }, periodSeconds: 1, failureThreshold: 1 };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: o.name },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: o.name } },
      template: {
        metadata: { labels: { app: o.name } },
        spec: { nodeName: o.node, terminationGracePeriodSeconds: 1, containers: [container] },
      },
    },
  };
}
