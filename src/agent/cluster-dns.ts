import { createSocket, type Socket } from "node:dgram";
import { answer } from "./cluster-dns-records.ts";
import { buildResponse, parseQuery, RCODE } from "./dns-message.ts";

/**
 * The node's cluster resolver: a UDP DNS server on the pods' bridge address (at a free port;
 * the service proxy's chain redirects <bridge>:53 to it), answering from the records of
 * cluster-dns-records.ts. Pods' /etc/resolv.conf names the bridge address.
 */
export class ClusterDns {
  private records = new Map<string, string[]>();
  /** Queries answered (tests, benches). */
  answered = 0;

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static open(host: string, log: (line: string) => void): Promise<ClusterDns> {
    const socket = createSocket("udp4");
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: host, port: 0 }, () => {
        socket.off("error", reject);
        const dns = new ClusterDns(socket, socket.address().port);
        socket.on("error", (e) => log(`cluster dns: ${e.message}`));
        socket.on("message", (msg, from) => dns.onMessage(msg, from.address, from.port));
        resolve(dns);
      });
    });
  }

  set(records: Map<string, string[]>): void {
    this.records = records;
  }

  private onMessage(msg: Buffer, address: string, port: number): void {
    const q = parseQuery(msg);
    if (!q) return;
    const opcode = (q.flags >> 11) & 0xf;
    const r = opcode !== 0 ? { rcode: RCODE.NOTIMP, addresses: [] } : answer(this.records, q.name, q.type);
    this.answered++;
    this.socket.send(buildResponse(q, r.rcode, r.addresses), port, address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
