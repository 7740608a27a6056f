/**
 * Pod Security admission (the Pod Security Standards, as Kubernetes' built-in plugin checks
 * them), pure. A namespace chooses a level per mode with labels:
 *   pod-security.kubernetes.io/enforce|warn|audit: privileged | baseline | restricted
 *   pod-security.kubernetes.io/<mode>-version: latest | v1.N (echoed in messages; checks are latest's)
 * enforce refuses pods (403), warn answers with Warning headers, audit annotates the pod. Workload
 * objects (pod templates) are never refused: violations of their enforce or warn level are warnings.
 */

export type Level = "privileged" | "baseline" | "restricted";
export type Mode = "enforce" | "warn" | "audit";

const LABEL_PREFIX = "pod-security.kubernetes.io/";
export const AUDIT_ANNOTATION = "pod-security.kubernetes.io/audit-violations";
const LEVELS: Level[] = ["privileged", "baseline", "restricted"];

type Obj = Record<string, any>;

export interface ModePolicy {
  level: Level;
  version: string;
}

/** The policy of each mode a namespace's labels set; an unknown level counts as restricted, as Kubernetes does. */
export function namespacePolicy(labels: Record<string, string> | undefined): Partial<Record<Mode, ModePolicy>> {
  const out: Partial<Record<Mode, ModePolicy>> = {};
  for (const mode of ["enforce", "warn", "audit"] as Mode[]) {
    const value = labels?.[LABEL_PREFIX + mode];
    if (value === undefined) continue;
    const level = (LEVELS as string[]).includes(value) ? (value as Level) : "restricted";
    const version = labels?.[`${LABEL_PREFIX}${mode}-version`] || "latest";
    out[mode] = { level, version };
  }
  return out;
}

/** One failed check: its name and what in the pod fails it ("host namespaces", "hostNetwork=true"). */
export interface Violation {
  check: string;
  detail: string;
}

const ALLOWED_BASELINE_CAPS = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
]);
const ALLOWED_SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
const RESTRICTED_VOLUME_TYPES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

const q = (s: string) => JSON.stringify(s);
/** `container "a"` / `containers "a", "b"`, as Kubernetes words it. */
const containersPhrase = (names: string[]) => `${names.length === 1 ? "container" : "containers"} ${names.map(q).join(", ")}`;
const containersOf = (spec: Obj): Obj[] =>
  [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].filter((c) => c && typeof c === "object");
const nameOf = (c: Obj) => String(c.name ?? "");
const sc = (o: Obj | undefined): Obj => (o?.securityContext && typeof o.securityContext === "object" ? o.securityContext : {});

function forContainers(spec: Obj, bad: (c: Obj) => boolean, check: string, tail: string): Violation[] {
  const names = containersOf(spec).filter(bad).map(nameOf);
  return names.length ? [{ check, detail: `${containersPhrase(names)} ${tail}` }] : [];
}

/** The baseline checks (privileged allows everything). */
export function baselineViolations(metadata: Obj, spec: Obj): Violation[] {
  const out: Violation[] = [];
  const hostNs = ["hostNetwork", "hostPID", "hostIPC"].filter((f) => spec[f] === true).map((f) => `${f}=true`);
  if (hostNs.length) out.push({ check: "host namespaces", detail: hostNs.join(", ") });
  out.push(...forContainers(spec, (c) => sc(c).privileged === true, "privileged", "must not set securityContext.privileged=true"));
  const capDetails: string[] = [];
  for (const c of containersOf(spec)) {
    const added = (sc(c).capabilities?.add ?? []).filter((cap: unknown) => typeof cap === "string" && !ALLOWED_BASELINE_CAPS.has(cap));
    if (added.length) capDetails.push(`${containersPhrase([nameOf(c)])} must not include ${added.map(q).join(", ")} in securityContext.capabilities.add`);
  }
  if (capDetails.length) out.push({ check: "non-default capabilities", detail: capDetails.join("; ") });
  const hostPaths = (spec.volumes ?? []).filter((v: Obj) => v?.hostPath).map((v: Obj) => String(v.name));
  if (hostPaths.length) out.push({ check: "hostPath volumes", detail: `${hostPaths.length === 1 ? "volume" : "volumes"} ${hostPaths.map(q).join(", ")}` });
  const portDetails: string[] = [];
  for (const c of containersOf(spec)) {
    const ports = (c.ports ?? []).map((p: Obj) => p?.hostPort).filter((p: unknown) => typeof p === "number" && p !== 0);
    if (ports.length) portDetails.push(`${containersPhrase([nameOf(c)])} ${ports.length === 1 ? "uses hostPort" : "uses hostPorts"} ${ports.join(", ")}`);
  }
  if (portDetails.length) out.push({ check: "hostPort", detail: portDetails.join("; ") });
  const appArmor: string[] = [];
  const badAppArmorType = (t: unknown) => t !== undefined && t !== "RuntimeDefault" && t !== "Localhost";
  if (badAppArmorType(sc(spec).appArmorProfile?.type)) appArmor.push(`pod must not set securityContext.appArmorProfile.type to ${q(String(sc(spec).appArmorProfile.type))}`);
  for (const c of containersOf(spec))
    if (badAppArmorType(sc(c).appArmorProfile?.type))
      appArmor.push(`${containersPhrase([nameOf(c)])} must not set securityContext.appArmorProfile.type to ${q(String(sc(c).appArmorProfile.type))}`);
  for (const [k, v] of Object.entries((metadata.annotations ?? {}) as Record<string, string>))
    if (k.startsWith("container.apparmor.security.beta.kubernetes.io/") && v !== "runtime/default" && !v.startsWith("localhost/")) appArmor.push(`annotation ${k}=${q(v)}`);
  if (appArmor.length) out.push({ check: "forbidden AppArmor profile", detail: appArmor.join("; ") });
  const seLinuxBad = (o: Obj | undefined) => {
    if (!o || typeof o !== "object") return [];
    const bad: string[] = [];
    if (!ALLOWED_SELINUX_TYPES.has(o.type ?? "")) bad.push(`type ${q(o.type)}`);
    if (o.user) bad.push(`user ${q(o.user)}`);
    if (o.role) bad.push(`role ${q(o.role)}`);
    return bad;
  };
  const podSeLinux = seLinuxBad(sc(spec).seLinuxOptions);
  const seLinuxContainers = containersOf(spec).filter((c) => seLinuxBad(sc(c).seLinuxOptions).length > 0);
  if (podSeLinux.length || seLinuxContainers.length) {
    const who = [...(podSeLinux.length ? ["pod"] : []), ...(seLinuxContainers.length ? [containersPhrase(seLinuxContainers.map(nameOf))] : [])].join(" and ");
    const what = [...new Set([...podSeLinux, ...seLinuxContainers.flatMap((c) => seLinuxBad(sc(c).seLinuxOptions))])].join("; ");
    out.push({ check: "seLinuxOptions", detail: `${who} set forbidden securityContext.seLinuxOptions: ${what}` });
  }
  out.push(...forContainers(spec, (c) => sc(c).procMount !== undefined && sc(c).procMount !== "Default", "procMount", "must not set securityContext.procMount to \"Unmasked\""));
  const seccomp: string[] = [];
  if (sc(spec).seccompProfile?.type === "Unconfined") seccomp.push('pod must not set securityContext.seccompProfile.type to "Unconfined"');
  const unconfined = containersOf(spec).filter((c) => sc(c).seccompProfile?.type === "Unconfined").map(nameOf);
  if (unconfined.length) seccomp.push(`${containersPhrase(unconfined)} must not set securityContext.seccompProfile.type to "Unconfined"`);
  if (seccomp.length) out.push({ check: "seccompProfile", detail: seccomp.join("; ") });
  const sysctls = (sc(spec).sysctls ?? []).map((s: Obj) => String(s?.name)).filter((n: string) => !SAFE_SYSCTLS.has(n));
  if (sysctls.length) out.push({ check: "forbidden sysctls", detail: sysctls.join(", ") });
  return out;
}

/** The restricted checks on top of baseline. */
export function restrictedViolations(metadata: Obj, spec: Obj): Violation[] {
  const out = baselineViolations(metadata, spec);
  const volumes = (spec.volumes ?? []).filter((v: Obj) => v && typeof v === "object");
  const restricted = volumes
    .map((v: Obj) => ({ name: String(v.name), type: Object.keys(v).find((k) => k !== "name" && v[k] !== undefined && v[k] !== null) ?? "emptyDir" }))
    .filter((v: { type: string }) => !RESTRICTED_VOLUME_TYPES.has(v.type));
  if (restricted.length)
    out.push({ check: "restricted volume types", detail: restricted.map((v: { name: string; type: string }) => `volume ${q(v.name)} uses restricted volume type ${q(v.type)}`).join("; ") });
  out.push(...forContainers(spec, (c) => sc(c).allowPrivilegeEscalation !== false, "allowPrivilegeEscalation != false", "must set securityContext.allowPrivilegeEscalation=false"));
  // runAsNonRoot: the pod's setting applies to containers that leave it unset
  const podNonRoot = sc(spec).runAsNonRoot;
  const rootContainers = containersOf(spec).filter((c) => sc(c).runAsNonRoot === false || (sc(c).runAsNonRoot === undefined && podNonRoot !== true));
  if (podNonRoot === false || rootContainers.length) {
    const explicit = containersOf(spec).filter((c) => sc(c).runAsNonRoot === false).map(nameOf);
    const details: string[] = [];
    if (podNonRoot === false) details.push("pod must not set securityContext.runAsNonRoot=false");
    if (explicit.length) details.push(`${containersPhrase(explicit)} must not set securityContext.runAsNonRoot=false`);
    const unset = rootContainers.filter((c) => sc(c).runAsNonRoot === undefined).map(nameOf);
    if (unset.length && podNonRoot !== false) details.push(`pod or ${containersPhrase(unset)} must set securityContext.runAsNonRoot=true`);
    if (details.length) out.push({ check: "runAsNonRoot != true", detail: details.join("; ") });
  }
  const root: string[] = [];
  if (sc(spec).runAsUser === 0) root.push("pod must not set runAsUser=0");
  const rootUsers = containersOf(spec).filter((c) => sc(c).runAsUser === 0).map(nameOf);
  if (rootUsers.length) root.push(`${containersPhrase(rootUsers)} must not set runAsUser=0`);
  if (root.length) out.push({ check: "runAsUser=0", detail: root.join("; ") });
  const goodSeccomp = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";
  const podSeccomp = sc(spec).seccompProfile?.type;
  const noSeccomp = containersOf(spec)
    .filter((c) => (sc(c).seccompProfile?.type === undefined ? !goodSeccomp(podSeccomp) : false))
    .map(nameOf);
  const seccompIdx = out.findIndex((v) => v.check === "seccompProfile");
  if (noSeccomp.length && seccompIdx === -1)
    out.push({ check: "seccompProfile", detail: `pod or ${containersPhrase(noSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"` });
  const capDetails: string[] = [];
  const noDropAll = containersOf(spec).filter((c) => !(sc(c).capabilities?.drop ?? []).includes("ALL")).map(nameOf);
  if (noDropAll.length) capDetails.push(`${containersPhrase(noDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  for (const c of containersOf(spec)) {
    const added = (sc(c).capabilities?.add ?? []).filter((cap: unknown) => cap !== "NET_BIND_SERVICE");
    if (added.length) capDetails.push(`${containersPhrase([nameOf(c)])} must not include ${added.map((a: unknown) => q(String(a))).join(", ")} in securityContext.capabilities.add`);
  }
  if (capDetails.length) out.push({ check: "unrestricted capabilities", detail: capDetails.join("; ") });
  return out;
}

export function violations(level: Level, metadata: Obj, spec: Obj): Violation[] {
  if (level === "privileged") return [];
  try {
    return level === "baseline" ? baselineViolations(metadata, spec) : restrictedViolations(metadata, spec);
  } catch (e) {
    // A field of the wrong type (ports: "80") that validation let through: not checkable, so not allowed.
    if (!(e instanceof TypeError)) throw e;
    return [{ check: "malformed pod spec", detail: "a field holds a value of the wrong type" }];
  }
}

/** `violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), ...` without the verb. */
export function describeViolations(policy: ModePolicy, found: Violation[]): string {
  return `PodSecurity "${policy.level}:${policy.version}": ${found.map((v) => `${v.check} (${v.detail})`).join(", ")}`;
}

export interface PodSecurityDecision {
  /** The enforce message tail (`violates PodSecurity ...`); set only for pods. */
  deny?: string;
  warnings: string[];
  /** For the pod's audit annotation. */
  audit?: string;
}

/**
 * What Pod Security admission says about a pod (`isPod`) or a pod template of a workload, in a
 * namespace with these labels.
 */
export function podSecurityDecision(nsLabels: Record<string, string> | undefined, metadata: Obj, spec: Obj, isPod: boolean): PodSecurityDecision {
  const policy = namespacePolicy(nsLabels);
  const out: PodSecurityDecision = { warnings: [] };
  const evaluate = (p: ModePolicy | undefined) => {
    if (!p) return undefined;
    const found = violations(p.level, metadata ?? {}, spec ?? {});
    return found.length ? describeViolations(p, found) : undefined;
  };
  const enforce = evaluate(policy.enforce);
  if (enforce) {
    if (isPod) out.deny = `violates ${enforce}`;
    else out.warnings.push(`would violate ${enforce}`);
  }
  const warn = evaluate(policy.warn);
  if (warn && !out.warnings.includes(`would violate ${warn}`) && !(isPod && enforce === warn)) out.warnings.push(`would violate ${warn}`);
  const audit = evaluate(policy.audit);
  if (audit) out.audit = `would violate ${audit}`;
  return out;
}

/** The pod spec and its metadata inside a workload object (a template), or undefined. */
export function podTemplateOf(obj: Obj): { metadata: Obj; spec: Obj } | undefined {
  const template = obj.spec?.template ?? obj.spec?.jobTemplate?.spec?.template;
  if (!template || typeof template !== "object" || !template.spec || typeof template.spec !== "object") return undefined;
  return { metadata: template.metadata ?? {}, spec: template.spec };
}
