// The alert rules, read-only: what each watches (kind and params), how long it must hold, where
// it is routed, and whether it is on. They are written through /v1/alert-rules.

import type { AlertRule } from './api';

/** `{ task: "x", n: 3 }` as `task x · n 3`: short enough for a table cell. */
function paramsText(params: Record<string, unknown>): string {
  const parts = Object.entries(params).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length === 0 ? '—' : parts.join(' · ');
}

export function AlertRuleTable({ rules, showNamespace }: { rules: AlertRule[]; showNamespace: boolean }) {
  return (
    <div className="table-wrap">
      <table className="alert-table">
        <caption className="visually-hidden">Alert rules</caption>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            {showNamespace && <th scope="col">Namespace</th>}
            <th scope="col">Kind</th>
            <th scope="col">Parameters</th>
            <th scope="col">For</th>
            <th scope="col">Channels</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id}>
              <th scope="row">{r.name}</th>
              {showNamespace && <td>{r.namespace}</td>}
              <td>
                <code>{r.kind}</code>
              </td>
              <td className="alert-why">{paramsText(r.params)}</td>
              <td>{r.for === '0s' ? <span className="muted">—</span> : r.for}</td>
              <td>{r.channels.length === 0 ? <span className="muted">none</span> : r.channels.join(', ')}</td>
              <td>{r.enabled ? 'enabled' : <span className="muted">disabled</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
