// The JSON body parser: Fastify's own (same errors, same prototype-poisoning refusal), after a
// depth check on the raw text. Bodies nested deeper than MAX_JSON_DEPTH are refused with 400
// before they are parsed, so no payload, spec or http body that deep is ever stored, serialized
// again, or handed to a worker (a 4,800-level array made JSON.stringify overflow: a 500 here, a
// crashed script worker there).

import type { FastifyInstance } from 'fastify';
import { SundialError } from '../core/errors.js';
import { jsonTextDepth, MAX_JSON_DEPTH, tooDeepMessage } from '../core/json-depth.js';

/** Replaces the application/json parser of `app` with the depth-checked one. */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
      done(new SundialError('validation_failed', `${tooDeepMessage('the body')}; send flatter data`, { errors: [{ path: '', message: tooDeepMessage('the value') }] }), undefined);
      return;
    }
    parse(request, text, done);
  });
}
