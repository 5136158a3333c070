// How long the HTTP server waits for clients. Fastify's defaults wait forever for a request's
// body (requestTimeout 0) and for an idle socket (connectionTimeout 0), so a client that trickles
// bytes (slowloris) or opens sockets and says nothing holds them until the process runs out of
// file descriptors. These bound what a client may take to *send*; answers are not limited, so
// server-sent event streams (/v1/events, log follow) stay open as long as they are read: their
// heartbeat (every 15 s) is traffic, and only a socket with no traffic either way for `idleMs`
// is closed.

export interface ServerTimeouts {
  /** The whole request (headers and body) must arrive within this (408 otherwise). */
  requestMs: number;
  /** The request's headers must arrive within this. */
  headersMs: number;
  /** A socket with no traffic either way for this long is closed (well above the SSE heartbeat). */
  idleMs: number;
  /** A kept-alive socket waits this long for its next request (above the 60 s of common load balancers). */
  keepAliveMs: number;
  /** How often Node checks the request and header deadlines. */
  checkEveryMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  requestMs: 30_000,
  headersMs: 10_000,
  idleMs: 120_000,
  keepAliveMs: 72_000,
  checkEveryMs: 2_000,
};

/** The Fastify constructor options for `t`. */
export function serverTimeoutOptions(t: ServerTimeouts): {
  connectionTimeout: number;
  keepAliveTimeout: number;
  requestTimeout: number;
  http: { headersTimeout: number; connectionsCheckingInterval: number };
} {
  return {
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    // Node refuses a header deadline later than the request's.
    http: { headersTimeout: Math.min(t.headersMs, t.requestMs), connectionsCheckingInterval: t.checkEveryMs },
  };
}
