import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { ApiConfig } from "./api-client.ts";

/** Reads the server, token and TLS settings of a kubeconfig's current context. */

interface Kubeconfig {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; "insecure-skip-tls-verify"?: boolean; "certificate-authority-data"?: string; "certificate-authority"?: string } }[];
  users?: { name: string; user: { token?: string; tokenFile?: string } }[];
}

export function readKubeconfig(path: string, contextName?: string): ApiConfig {
  const k = parse(readFileSync(path, "utf8")) as Kubeconfig;
  const ctxName = contextName ?? k["current-context"];
  const ctx = k.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig ${path}: no context "${ctxName ?? ""}"`);
  const cluster = k.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`kubeconfig ${path}: cluster "${ctx.cluster}" has no server`);
  const user = k.users?.find((u) => u.name === ctx.user)?.user;
  const token = user?.token ?? (user?.tokenFile ? readFileSync(user.tokenFile, "utf8").trim() : undefined);
  if (!token) throw new Error(`kubeconfig ${path}: user "${ctx.user}" has no token (the agent authenticates with a bearer token)`);
  const ca = cluster["certificate-authority-data"]
    ? Buffer.from(cluster["certificate-authority-data"], "base64").toString("utf8")
    : cluster["certificate-authority"]
      ? readFileSync(cluster["certificate-authority"], "utf8")
      : undefined;
  return { server: cluster.server, token, insecure: cluster["insecure-skip-tls-verify"] === true, ca };
}
