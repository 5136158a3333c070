// The two ways out: an HTTP POST (webhooks and Slack) through the outbound guard, and SMTP
// through nodemailer. Both are loaded on first use, so a node without notifications loads
// neither. The operator's own SMTP server is exempt from the guard (it is configuration, not a
// user's target).
import type { Agent } from 'undici';
import { createOutboundGuard, findOutboundBlocked, OutboundBlockedError, type OutboundGuard } from '../executor/outbound-guard.js';

/** The receiver's answer to a POST. */
export interface PostResult {
  status: number;
  /** The start of the answer's body, for the attempt's error. */
  excerpt: string;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** `<id@sundial>`: the same on every attempt, so a mail client shows a retried message once. */
  messageId: string;
}

/** What the deliverer sends through; tests may hand in their own. */
export interface Transports {
  post(url: string, body: string, headers: Record<string, string>): Promise<PostResult>;
  mail(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}

export interface TransportOptions {
  outboundAllow: readonly string[];
  timeoutMs: number;
  smtpUrl: string;
  smtpFrom: string;
  userAgent: string;
}

/** Thrown when an e-mail channel has no SMTP server to go through. */
export class SmtpNotConfiguredError extends Error {
  constructor() {
    super('SUNDIAL_SMTP_URL is not set on this node: e-mail cannot be sent');
  }
}

/** Real transports: undici with a guarded connector, and nodemailer. */
export function createTransports(opts: TransportOptions): Transports {
  const guard: OutboundGuard = createOutboundGuard(opts.outboundAllow);
  let http: Promise<{ agent: Agent; request: typeof import('undici').request }> | null = null;
  let mailer: Promise<{ sendMail(m: object): Promise<unknown>; close(): void }> | null = null;

  const loadHttp = () =>
    (http ??= import('undici').then(({ Agent, request }) => ({
      // Every connection resolves through the guard: the address checked is the one used.
      agent: new Agent({ connect: { lookup: guard.lookup, timeout: opts.timeoutMs }, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs }),
      request,
    })));

  return {
    async post(url, body, headers) {
      const parsed = new URL(url);
      // IP literals never go through DNS, so the connect-time lookup would not see them.
      const refused = guard.checkHost(parsed.hostname);
      if (refused !== null) throw new OutboundBlockedError(refused);
      const { agent, request } = await loadHttp();
      try {
        const res = await request(url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'user-agent': opts.userAgent, ...headers },
          dispatcher: agent,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        const text = await res.body.text().catch(() => '');
        return { status: res.statusCode, excerpt: text.slice(0, 200) };
      } catch (err) {
        throw findOutboundBlocked(err) ?? err;
      }
    },
    async mail(m) {
      if (opts.smtpUrl === '') throw new SmtpNotConfiguredError();
      // Time limits ride in the URL's query, where nodemailer reads its options from.
      mailer ??= import('nodemailer').then((nm) => nm.createTransport(withTimeouts(opts.smtpUrl, opts.timeoutMs)));
      const t = await mailer;
      await t.sendMail({ from: opts.smtpFrom, to: m.to, subject: m.subject, text: m.text, messageId: m.messageId, headers: { 'X-Sundial-Notification': m.messageId } });
    },
    async close() {
      if (http !== null) await (await http).agent.close().catch(() => undefined);
      if (mailer !== null) (await mailer).close();
    },
  };
}

/** The SMTP URL with nodemailer's connection, greeting and socket time limits set, unless it sets them. */
function withTimeouts(smtpUrl: string, timeoutMs: number): string {
  const u = new URL(smtpUrl);
  for (const k of ['connectionTimeout', 'greetingTimeout', 'socketTimeout']) if (!u.searchParams.has(k)) u.searchParams.set(k, String(timeoutMs));
  return u.toString();
}
