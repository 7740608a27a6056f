/**
 * The little of DNS (RFC 1035) the cluster resolver needs, pure and unit-tested: read a query's
 * question, write an answer with A records (or none, NXDOMAIN, REFUSED).
 */

export const TYPE_A = 1;
export const TYPE_ANY = 255;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface DnsQuestion {
  id: number;
  /** Opcode and RD as the client set them. */
  flags: number;
  /** Lower case, without the trailing dot. */
  name: string;
  type: number;
  class: number;
  /** The question section as received (echoed back). */
  raw: Buffer;
}

/** The first question of a query, or undefined when the message is not a well-formed query. */
export function parseQuery(msg: Buffer): DnsQuestion | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    if (at >= msg.length) return undefined;
    const len = msg[at];
    if (len === 0) {
      at++;
      break;
    }
    if (len > 63 || at + 1 + len > msg.length) return undefined; // no compression in questions
    labels.push(msg.subarray(at + 1, at + 1 + len).toString("latin1"));
    at += 1 + len;
  }
  if (at + 4 > msg.length) return undefined;
  return {
    id: msg.readUInt16BE(0),
    flags,
    name: labels.join(".").toLowerCase(),
    type: msg.readUInt16BE(at),
    class: msg.readUInt16BE(at + 2),
    raw: msg.subarray(12, at + 4),
  };
}

/** A response to `q`: authoritative, the question echoed, one A record per address. */
export function buildResponse(q: DnsQuestion, rcode: number, addresses: string[] = [], ttl = 5): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR=1, opcode and RD copied, AA=1, RA=0.
  header.writeUInt16BE(0x8000 | (q.flags & 0x7900) | 0x0400 | (rcode & 0xf), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const answers = addresses.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question's
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    ip.split(".").forEach((o, i) => (rr[12 + i] = Number(o)));
    return rr;
  });
  return Buffer.concat([header, q.raw, ...answers]);
}

/** A query for `name` (tests and benches). */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const parts = name.split(".").filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")]));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, ...parts, tail]);
}

/** The rcode and A addresses of a response (tests). */
export function parseResponse(msg: Buffer): { id: number; rcode: number; addresses: string[] } {
  const q = parseQuery(Buffer.concat([msg.subarray(0, 2), Buffer.from([0, 0]), msg.subarray(4)]))!;
  const addresses: string[] = [];
  let at = 12 + q.raw.length;
  for (let i = 0; i < msg.readUInt16BE(6); i++) {
    const len = msg.readUInt16BE(at + 10);
    if (msg.readUInt16BE(at + 2) === TYPE_A) addresses.push([...msg.subarray(at + 12, at + 16)].join("."));
    at += 12 + len;
  }
  return { id: q.id, rcode: msg.readUInt16BE(2) & 0xf, addresses };
}
