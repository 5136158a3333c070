// Loopback receivers for notification tests: an HTTP server that records what is POSTed to it
// (and answers with a status the test chooses), and a real SMTP server (the `smtp-server`
// package) that records the messages it accepts.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status it was answered with. */
  status: number;
}

/** An HTTP receiver on 127.0.0.1 (port 0 unless given). */
export class HttpReceiver {
  readonly received: Received[] = [];
  /** Status to answer; change it to simulate an outage. */
  status = 200;
  /** Record requests but never answer them (a receiver that hangs); closed by stop(). */
  hold = false;
  #server: Server | null = null;
  #waiters: { n: number; resolve: () => void }[] = [];
  url = '';

  async start(port = 0): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = this.status;
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: this.hold ? 0 : status });
        if (!this.hold) res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
        this.#wake();
      });
    });
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Resolves once `n` requests (of any status) have arrived. */
  waitFor(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (this.received.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  async stop(): Promise<void> {
    if (this.#server === null) return;
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
    this.#server = null;
  }
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** Whether the server accepted it. */
  accepted: boolean;
}

/** A real SMTP server on 127.0.0.1 without TLS or auth; `reject` makes it refuse messages (451). */
export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  reject = false;
  url = '';
  #server: SMTPServer | null = null;

  async start(): Promise<this> {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const accepted = !this.reject;
          this.mails.push({
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            accepted,
          });
          if (accepted) callback();
          else callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
        });
      },
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server.server, 'listening');
    this.url = `smtp://127.0.0.1:${(this.#server.server.address() as AddressInfo).port}`;
    return this;
  }

  /** A header of a received message (unfolded), or undefined. */
  static header(raw: string, name: string): string | undefined {
    const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
    const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(unfolded);
    return m?.[1]?.trim();
  }

  async stop(): Promise<void> {
    if (this.#server === null) return;
    const s = this.#server;
    this.#server = null;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
