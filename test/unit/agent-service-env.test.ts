import { describe, expect, it } from "vitest";
import { containerEnv, serviceEnv, type ServiceInfo } from "../../src/agent/container-env.ts";
import type { ContainerSpec, Pod } from "../../src/agent/container-record.ts";
import { nodeRule } from "../../src/auth/node-authorizer.ts";

const svc = (namespace: string, name: string, clusterIP: string, ports: { name?: string; port: number; protocol?: string }[]): ServiceInfo => ({
  metadata: { name, namespace },
  spec: { clusterIP, ports },
});

const services = [
  svc("default", "kubernetes", "10.96.0.1", [{ name: "https", port: 443, protocol: "TCP" }]),
  svc("shop", "web-api", "10.96.4.7", [{ name: "http", port: 80, protocol: "TCP" }, { name: "dns", port: 53, protocol: "UDP" }]),
  svc("shop", "headless", "None", [{ port: 80 }]),
  svc("other", "elsewhere", "10.96.9.9", [{ port: 80 }]),
];

describe("service environment variables (kubelet)", () => {
  it("gives the namespace's services and default/kubernetes, kubelet's names and Docker links", () => {
    expect(serviceEnv(services, "shop", true)).toEqual({
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_ADDR: "10.96.0.1",
      WEB_API_SERVICE_HOST: "10.96.4.7",
      WEB_API_SERVICE_PORT: "80",
      WEB_API_SERVICE_PORT_HTTP: "80",
      WEB_API_SERVICE_PORT_DNS: "53",
      WEB_API_PORT: "tcp://10.96.4.7:80",
      WEB_API_PORT_80_TCP: "tcp://10.96.4.7:80",
      WEB_API_PORT_80_TCP_PROTO: "tcp",
      WEB_API_PORT_80_TCP_PORT: "80",
      WEB_API_PORT_80_TCP_ADDR: "10.96.4.7",
      WEB_API_PORT_53_UDP: "udp://10.96.4.7:53",
      WEB_API_PORT_53_UDP_PROTO: "udp",
      WEB_API_PORT_53_UDP_PORT: "53",
      WEB_API_PORT_53_UDP_ADDR: "10.96.4.7",
    });
  });

  it("enableServiceLinks: false keeps only the kubernetes service", () => {
    expect(Object.keys(serviceEnv(services, "shop", false)).filter((k) => k.startsWith("WEB_API"))).toEqual([]);
    expect(serviceEnv(services, "shop", false).KUBERNETES_SERVICE_HOST).toBe("10.96.0.1");
  });

  it("a container's own variables win; $(VAR) may reference service variables", async () => {
    const pod = { metadata: { name: "p", namespace: "shop", uid: "u", labels: {} }, spec: { containers: [] } } as unknown as Pod;
    const c = {
      name: "c",
      image: "busybox",
      command: ["wget", "$(WEB_API_SERVICE_HOST):$(WEB_API_SERVICE_PORT)"],
      env: [
        { name: "WEB_API_SERVICE_PORT", value: "8080" },
        { name: "URL", value: "http://$(WEB_API_SERVICE_HOST)/" },
      ],
    } as unknown as ContainerSpec;
    const vars = serviceEnv(services, "shop", true);
    const { env, argv } = await containerEnv(pod, c, { podIP: "10.244.0.2", hostIP: "10.0.0.1", data: async () => undefined, services: vars });
    expect(env.WEB_API_SERVICE_PORT).toBe("8080");
    expect(env.URL).toBe("http://10.96.4.7/");
    expect(env.KUBERNETES_SERVICE_HOST).toBe("10.96.0.1");
    expect(argv).toEqual(["wget", "10.96.4.7:8080"]);
  });

  it("the node authorizer lets nodes read services", () => {
    const attrs = (verb: string, name?: string) => ({ verb, resourceRequest: true, apiGroup: "", resource: "services", namespace: "shop", name }) as Parameters<typeof nodeRule>[1];
    expect(nodeRule("n1", attrs("list"), null)).toBe("allow");
    expect(nodeRule("n1", attrs("get", "kubernetes"), null)).toBe("allow");
    expect(nodeRule("n1", attrs("delete", "web"), null)).toBe("no-opinion");
  });
});
