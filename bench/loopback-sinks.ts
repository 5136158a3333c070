// Loopback receivers for the benchmark's sink and notification scenarios: an InfluxDB that takes
// every write at once, one that accepts connections and never answers, and a webhook receiver.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface Receiver {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/** An InfluxDB stand-in that answers every write 204 and counts the points (lines) it got. */
export async function startPointsServer(): Promise<Receiver & { points(): number }> {
  let points = 0;
  const server = createServer((req, res) => {
    void body(req).then((b) => {
      for (let i = 0; i < b.length; i++) if (b[i] === 10) points++;
      if (b.length > 0 && b[b.length - 1] !== 10) points++;
      res.writeHead(204).end();
    });
  });
  const url = await listen(server);
  return { url, points: () => points, close: () => closeServer(server) };
}

/** A server that accepts connections and requests and never answers (a stalled InfluxDB). */
export async function startStalledServer(): Promise<Receiver> {
  const server = createServer(() => undefined);
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

/** A webhook receiver that answers 204 and records when each distinct `webhook-id` arrived. */
export async function startWebhookReceiver(): Promise<Receiver & { received(): number; arrivals: number[] }> {
  const seen = new Set<string>();
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    void body(req).then(() => {
      const id = String(req.headers['webhook-id'] ?? '');
      if (!seen.has(id)) {
        seen.add(id);
        arrivals.push(Date.now());
      }
      res.writeHead(204).end();
    });
  });
  const url = await listen(server);
  return { url, received: () => seen.size, arrivals, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
