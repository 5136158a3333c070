// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// "<webhook-id>.<webhook-timestamp>.<body>" with the secret's bytes (`whsec_<base64>`), sent as
// `webhook-signature: v1,<base64>`. Receivers verify with any Standard Webhooks library.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** True when `secret` is `whsec_` followed by base64 of at least 16 bytes. */
export function isWebhookSecret(secret: string): boolean {
  if (!secret.startsWith(PREFIX)) return false;
  const b64 = secret.slice(PREFIX.length);
  return /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && Buffer.from(b64, 'base64').length >= 16;
}

/** A new random secret, for tests and examples. */
export function generateWebhookSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** The headers of one signed delivery; `timestampSec` is the attempt's time in Unix seconds. */
export function signWebhook(secret: string, id: string, timestampSec: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSec), 'webhook-signature': `v1,${signature}` };
}
