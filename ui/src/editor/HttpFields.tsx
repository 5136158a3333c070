// The `http` kind: method, URL, headers, body and the status codes that count as success.

import { Field } from '../components/ui';
import { HTTP_POINTERS as P } from './field-map';
import { KeyValueRows } from './KeyValueRows';
import { HTTP_METHODS, type HttpForm } from './model';
import type { SectionProps } from './section';

/** Methods whose requests carry no body (the API refuses one). */
export const BODYLESS = new Set(['GET', 'HEAD']);

export function HttpFields({ value, onChange, errors }: SectionProps<HttpForm>) {
  const bodyless = BODYLESS.has(value.method);
  return (
    <>
      <div className="form-row http-target">
        <Field label="Method" errors={errors(P.method)}>
          {(ids) => (
            <select {...ids} value={value.method} onChange={(e) => onChange({ method: e.target.value })}>
              {HTTP_METHODS.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="URL" hint="http:// or https://; private and loopback addresses only where the server allows them." errors={errors(P.url)}>
          {(ids) => (
            <input
              {...ids}
              type="url"
              className="mono"
              placeholder="https://example.com/hook"
              autoComplete="off"
              spellCheck={false}
              value={value.url}
              onChange={(e) => onChange({ url: e.target.value })}
            />
          )}
        </Field>
      </div>
      <KeyValueRows
        legend="Headers"
        item="header"
        rows={value.headers}
        onChange={(headers) => onChange({ headers })}
        errors={errors(P.headers)}
        namePlaceholder="X-Team"
        valuePlaceholder="value"
        hint="Each run also sends an Idempotency-Key header."
      />
      {bodyless ? (
        <p className="muted no-body">{value.method} requests have no body (choose POST, PUT or PATCH to send one).</p>
      ) : (
        <>
          <Field label="Body" hint="Sent as is, or parsed and sent as JSON." errors={errors(P.body)}>
            {(ids) => <textarea {...ids} className="mono" rows={4} spellCheck={false} value={value.body} onChange={(e) => onChange({ body: e.target.value })} />}
          </Field>
          <label className="check">
            <input type="checkbox" checked={value.bodyJson} onChange={(e) => onChange({ bodyJson: e.target.checked })} />
            The body is JSON
          </label>
        </>
      )}
      <Field label="Expected status (optional)" hint="Default: any 2xx succeeds. One code, or several separated by commas." errors={errors(P.expectStatus)}>
        {(ids) => <input {...ids} inputMode="numeric" placeholder="200, 202" value={value.expectStatus} onChange={(e) => onChange({ expectStatus: e.target.value })} />}
      </Field>
    </>
  );
}
