// HTTPS in the server itself, when the operator gives it a certificate (SUNDIAL_TLS_CERT and
// SUNDIAL_TLS_KEY): TLS 1.2 or later only, and Strict-Transport-Security on every answer so a
// browser that once reached the dashboard over HTTPS never falls back to plain HTTP. Without a
// certificate the server speaks plain HTTP and TLS belongs to a proxy in front (docs/security.md).

import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SundialError } from '../core/errors.js';

/** One year, without includeSubDomains: other hosts of the domain are not this server's to decide. */
export const HSTS = 'max-age=31536000';

/** Fastify's `https` option for the configured files, or undefined for plain HTTP. */
export function httpsOptions(config: { tlsCert: string; tlsKey: string }): { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' } | undefined {
  if (config.tlsCert === '') return undefined;
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new SundialError('validation_failed', `invalid configuration: cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  };
  return { cert: read(config.tlsCert, 'tlsCert'), key: read(config.tlsKey, 'tlsKey'), minVersion: 'TLSv1.2' };
}

/** Sends Strict-Transport-Security with every answer (only ever installed on an HTTPS server). */
export function installHsts(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('strict-transport-security', HSTS);
    return payload;
  });
}
