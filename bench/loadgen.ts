// The S4 load generator, run as its own process so clients do not share the server's event
// loop: `node dist/bench/loadgen.js <url> <token> <concurrency> <total>`. Prints one JSON line.
import { Pool } from 'undici';
import { stats } from './measure.js';

const [url, token, concurrencyArg, totalArg] = process.argv.slice(2);
if (!url || !token) throw new Error('usage: loadgen <url> <token> <concurrency> <total>');
const concurrency = Number(concurrencyArg ?? 32);
const total = Number(totalArg ?? 10_000);
const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
const prefix = `load-${process.pid}-`;
let next = 0;
let created = 0;
let errors = 0;
const latencies: number[] = [];

async function client(): Promise<void> {
  for (let i = next++; i < total; i = next++) {
    const body = JSON.stringify({
      name: `${prefix}${i}`,
      kind: 'module',
      spec: { file: 'stamp.mjs' },
      schedule: { type: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' },
      policies: { retry: { maxAttempts: 3 }, timeout: '30s' },
    });
    const t = performance.now();
    const res = await pool.request({
      method: 'POST',
      path: '/v1/tasks',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    await res.body.text();
    latencies.push(performance.now() - t);
    if (res.statusCode === 201) created++;
    else errors++;
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, client));
const seconds = (performance.now() - t0) / 1000;
await pool.close();
const s = stats(latencies);
console.log(JSON.stringify({ created, errors, seconds, p50Ms: Math.round(s.p50 * 10) / 10, p99Ms: Math.round(s.p99 * 10) / 10 }));
