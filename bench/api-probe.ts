// Measures how the API answers while something else loads the server: reads (task list, run
// list, one run's page) from a few clients for a fixed time, in its own process so the clients do
// not share the server's event loop. `node dist/bench/api-probe.js <url> <token> <seconds>`.
// Prints one JSON line: requests, errors, p50/p99/max in ms.
import { Pool } from 'undici';
import { stats } from './measure.js';

const [url, token, secondsArg] = process.argv.slice(2);
if (!url || !token) throw new Error('usage: api-probe <url> <token> <seconds>');
const until = performance.now() + Number(secondsArg ?? 20) * 1000;
const clients = 4;
const pool = new Pool(url, { connections: clients, pipelining: 1 });
const paths = ['/v1/tasks?limit=50', '/v1/runs?limit=50', '/v1/stats', '/healthz'];
const latencies: number[] = [];
let errors = 0;

async function client(i: number): Promise<void> {
  for (let n = i; performance.now() < until; n++) {
    const t = performance.now();
    const res = await pool.request({ method: 'GET', path: paths[n % paths.length]!, headers: { authorization: `Bearer ${token}` } });
    await res.body.text();
    latencies.push(performance.now() - t);
    if (res.statusCode !== 200) errors++;
    // A person's pace, not a flood: the point is how long one request waits, not how many fit.
    await new Promise((r) => setTimeout(r, 20));
  }
}

await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
await pool.close();
const s = stats(latencies);
const r1 = (v: number): number => Math.round(v * 10) / 10;
console.log(JSON.stringify({ requests: latencies.length, errors, p50Ms: r1(s.p50), p99Ms: r1(s.p99), maxMs: r1(s.max) }));
