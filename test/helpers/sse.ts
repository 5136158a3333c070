// A server-sent event stream read over a real socket, for tests: frames as they come, the raw
// text so far, and when the server ended it.
import { request, type IncomingMessage } from 'node:http';

export interface SseStream {
  res: IncomingMessage;
  /** Every byte received so far. */
  text(): string;
  /** Resolves with the first frame (text between blank lines) for which `match` is true. */
  next(match: (frame: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the server ends or drops the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `url` with `token`; resolves once the response headers arrived (any status). */
export function openSse(url: string, token: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.setEncoding('utf8');
      let all = '';
      let buffer = '';
      const frames: string[] = [];
      const waiters: { match: (f: string) => boolean; resolve: (f: string) => void }[] = [];
      const ended = new Promise<void>((done) => {
        res.once('end', done);
        res.once('close', done);
        res.once('error', () => done());
      });
      res.on('data', (chunk: string) => {
        all += chunk;
        buffer += chunk;
        let i;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const w = waiters.find((x) => x.match(frame));
          if (w) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(frame);
          } else frames.push(frame);
        }
      });
      resolve({
        res,
        text: () => all,
        ended,
        next: (match, timeoutMs = 5000) =>
          new Promise((done, fail) => {
            const seen = frames.find(match);
            if (seen !== undefined) {
              frames.splice(frames.indexOf(seen), 1);
              done(seen);
              return;
            }
            const timer = setTimeout(() => fail(new Error(`no matching frame within ${timeoutMs} ms; got:\n${all}`)), timeoutMs);
            waiters.push({ match, resolve: (f) => (clearTimeout(timer), done(f)) });
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The JSON of a frame's `data:` line. */
export function frameData(frame: string): Record<string, unknown> {
  const line = frame.split('\n').find((l) => l.startsWith('data: '));
  return JSON.parse(line?.slice(6) ?? 'null') as Record<string, unknown>;
}
