// A TCP proxy between one node and its database, to cut that node off at run time:
// - `pass`: bytes flow both ways.
// - `blackhole`: the realistic partition. Connections (old and new) stay open and nothing is
//   forwarded, so the node's queries hang (no error, no reset). Bytes and closes are held back in
//   order and delivered when the mode goes back to `pass`, as TCP retransmission does when a
//   network heals: a write sent during the cut reaches the database late.
// - `refuse`: new connections are refused (ECONNREFUSED: the listener closes) and open ones are
//   reset.
// - `close`: open connections are closed (FIN both ways), new ones are accepted and closed at once.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'refuse' | 'close';

/** Something held back during a blackhole: data, or the end of one side. */
type Held = Buffer | 'end';

interface Pair {
  client: Socket;
  upstream: Socket | null;
  toUpstream: Held[];
  toClient: Held[];
  done: boolean;
}

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1); stays the same across modes. */
  readonly port: number;
  readonly mode: ProxyMode;
  /** Connections accepted so far, and open now. */
  readonly stats: { accepted: number; open: number };
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  setMode(mode: ProxyMode): Promise<void>;
  /**
   * Switches to `blackhole` right after forwarding the first client→server chunk that contains
   * `marker` (e.g. a prepared statement's name, to cut a node inside a transaction), or after
   * `timeoutMs` whatever passed. Resolves with when, and whether the marker was seen.
   */
  blackholeAfter(marker: string, timeoutMs: number): Promise<{ at: number; matched: boolean }>;
  /**
   * Breaks one connection right after a request went through and before its answer comes back:
   * once a client→server chunk contains `markers[0]`, the next chunk on that connection that
   * contains `markers[1]` (e.g. the COMMIT after a given statement) is forwarded, then the
   * client side is reset while the server side is left to process it (and closed a little
   * later). With one marker, the chunk containing it is the one (a statement sent on its own,
   * which commits by itself). The client cannot know whether the server acted on it. Resolves
   * when it happened.
   */
  breakAfter(markers: [string] | [string, string], timeoutMs: number): Promise<{ at: number }>;
  /** Closes the listener and every connection. Idempotent. */
  close(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 to `target`. */
export async function startTcpProxy(target: { host: string; port: number }, initial: ProxyMode = 'pass'): Promise<TcpProxy> {
  let mode: ProxyMode = initial;
  let closed = false;
  const pairs = new Set<Pair>();
  let accepted = 0;
  /** An armed blackholeAfter: called with each chunk forwarded to the server. */
  let trigger: ((chunk: Buffer, p: Pair) => void) | null = null;

  /** Ends a pair: `drain` lets written bytes out first, `destroy` does not wait. */
  const finish = (p: Pair, how: 'drain' | 'destroy' | 'reset' | 'end'): void => {
    if (p.done) return;
    p.done = true;
    pairs.delete(p);
    for (const s of [p.client, p.upstream]) {
      if (s === null) continue;
      if (how === 'reset') s.resetAndDestroy();
      else if (how === 'end') s.end(() => s.destroy());
      else if (how === 'drain') s.destroySoon();
      else s.destroy();
    }
  };

  const deliver = (to: Socket, item: Held): void => {
    if (item === 'end') to.end();
    else to.write(item);
  };

  /** Connects the upstream side of a pair and forwards in pass mode. */
  const openUpstream = (p: Pair): void => {
    const up = connect({ host: target.host, port: target.port });
    p.upstream = up;
    up.setNoDelay(true);
    up.on('data', (chunk: Buffer) => {
      if (mode === 'pass' && p.toClient.length === 0) p.client.write(chunk);
      else p.toClient.push(chunk);
    });
    up.on('end', () => {
      if (mode === 'pass' && p.toClient.length === 0) p.client.end();
      else p.toClient.push('end');
    });
    up.on('error', () => undefined);
    up.on('close', () => {
      // The database side went away (it stopped, or it was reset by us): outside a blackhole
      // the client sees it at once; inside one, when the cut heals.
      if (mode === 'pass') finish(p, 'drain');
    });
    up.on('connect', () => flush(p));
  };

  /** Delivers what a blackhole held back, in order, once in pass mode. */
  const flush = (p: Pair): void => {
    if (mode !== 'pass' || p.done) return;
    if (p.upstream === null) {
      // Opened and given up during the cut: the database never heard of it.
      if (p.client.destroyed) return finish(p, 'drain');
      openUpstream(p);
      return;
    }
    if (p.upstream.connecting) return;
    for (const item of p.toUpstream.splice(0)) deliver(p.upstream, item);
    for (const item of p.toClient.splice(0)) deliver(p.client, item);
    // A side that closed during the cut got its 'end' delivered just now; the pair goes when
    // the other side closes too (the 'close' handlers).
    if (p.client.destroyed && p.upstream.destroyed) finish(p, 'drain');
  };

  const onConnection = (client: Socket): void => {
    accepted++;
    client.setNoDelay(true);
    const p: Pair = { client, upstream: null, toUpstream: [], toClient: [], done: false };
    client.on('error', () => undefined);
    if (mode === 'close' || mode === 'refuse' || closed) {
      client.end(() => client.destroy());
      return;
    }
    pairs.add(p);
    client.on('data', (chunk: Buffer) => {
      if (mode === 'pass' && p.upstream !== null && !p.upstream.connecting && p.toUpstream.length === 0) {
        p.upstream.write(chunk);
        trigger?.(chunk, p);
      } else {
        p.toUpstream.push(chunk);
      }
    });
    client.on('end', () => {
      if (mode === 'pass' && p.upstream !== null && !p.upstream.connecting && p.toUpstream.length === 0) p.upstream.end();
      else p.toUpstream.push('end');
    });
    client.on('close', () => {
      if (mode === 'pass') finish(p, 'drain');
      else p.toUpstream.push('end');
    });
    if (mode === 'pass') openUpstream(p);
  };

  let server: Server = createServer(onConnection);
  const listen = (srv: Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        srv.off('error', reject);
        const addr = srv.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  const port = await listen(server, 0);
  let listening = true;
  if (initial === 'refuse') {
    await new Promise<void>((r) => server.close(() => r()));
    listening = false;
  }

  const proxy: TcpProxy = {
    port,
    get mode() {
      return mode;
    },
    get stats() {
      return { accepted, open: pairs.size };
    },
    rewrite(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async setMode(next) {
      if (closed) throw new Error('the proxy is closed');
      mode = next;
      if (next === 'refuse') {
        if (listening) {
          listening = false;
          const srv = server;
          srv.close();
        }
        for (const p of [...pairs]) finish(p, 'reset');
        return;
      }
      if (!listening) {
        server = createServer(onConnection);
        await listen(server, port);
        listening = true;
      }
      if (next === 'close') for (const p of [...pairs]) finish(p, 'end');
      else if (next === 'pass') for (const p of [...pairs]) flush(p);
    },
    blackholeAfter(marker, timeoutMs) {
      return new Promise((resolve) => {
        const needle = Buffer.from(marker);
        const fire = (matched: boolean): void => {
          if (trigger === null) return;
          trigger = null;
          clearTimeout(timer);
          // Synchronously, before the next chunk arrives: nothing after the marker passes.
          mode = 'blackhole';
          resolve({ at: Date.now(), matched });
        };
        const timer = setTimeout(() => fire(false), timeoutMs);
        trigger = (chunk) => {
          if (chunk.includes(needle)) fire(true);
        };
      });
    },
    breakAfter([first, then], timeoutMs) {
      return new Promise((resolve, reject) => {
        const a = Buffer.from(first);
        const b = then === undefined ? null : Buffer.from(then);
        let armedOn: Pair | null = null;
        const timer = setTimeout(() => {
          trigger = null;
          reject(new Error(`breakAfter: ${first}${then === undefined ? '' : ` … ${then}`} not seen within ${timeoutMs} ms`));
        }, timeoutMs);
        trigger = (chunk, p) => {
          if (b === null) {
            if (!chunk.includes(a)) return;
          } else if (armedOn === null) {
            if (chunk.includes(a)) armedOn = p;
            return;
          } else if (p !== armedOn || !chunk.includes(b)) return;
          trigger = null;
          clearTimeout(timer);
          // The request went out (written above); its answer must not come back.
          p.done = true;
          pairs.delete(p);
          p.upstream?.removeAllListeners('data');
          p.upstream?.on('data', () => undefined);
          p.client.resetAndDestroy();
          const up = p.upstream;
          setTimeout(() => up?.end(), 1000).unref();
          resolve({ at: Date.now() });
        };
      });
    },
    async close() {
      if (closed) return;
      trigger = null;
      closed = true;
      for (const p of [...pairs]) finish(p, 'destroy');
      if (listening) {
        listening = false;
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  };
  return proxy;
}
