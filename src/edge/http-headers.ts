/**
 * Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, so a proxy neither forwards
 * them to the pod nor back to the client. Shared by the Worker's edge and the agent.
 */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
