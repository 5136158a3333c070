// Audit entries as a table. Actor and action link to the log filtered by them; targets link to
// their task or run.

import { Link } from 'react-router';
import { Time } from '../../components/ui';
import { compactJson } from '../runs/json';
import { shortId } from '../runs/statuses';
import type { AuditEntry } from './api';

/** A link to the audit log with one filter changed (the others kept). */
function filterLink(params: URLSearchParams, key: string, value: string): string {
  const next = new URLSearchParams(params);
  next.set(key, value);
  return `/audit?${next.toString()}`;
}

/** The target of an entry, linked where a page exists for it. */
function Target({ type, id }: { type: string; id: string }) {
  const to = type === 'task' ? `/tasks/${id}` : type === 'run' ? `/runs/${id}` : null;
  const short = <span className="mono" title={id}>{shortId(id)}</span>;
  return (
    <>
      <span className="muted">{type.replace('_', ' ')}</span>{' '}
      {to !== null ? (
        <Link to={to} aria-label={`${type} ${shortId(id)}`}>
          {short}
        </Link>
      ) : (
        short
      )}
    </>
  );
}

/** The table; `keyNames` maps `key:<id>` actors to key names. */
export function AuditTable({ entries, keyNames, params }: { entries: AuditEntry[]; keyNames: Map<string, string>; params: URLSearchParams }) {
  return (
    <div className="table-wrap">
      <table className="audit-table">
        <caption className="visually-hidden">Audit log</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Namespace</th>
            <th scope="col">IP</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => {
            const detail = e.detail === null || e.detail === undefined ? '' : compactJson(e.detail);
            return (
              <tr key={e.id}>
                <td>
                  <Time iso={e.at} />
                </td>
                <td>
                  <Link to={filterLink(params, 'actor', e.actor)} title={`Only entries by ${e.actor}`}>
                    {keyNames.get(e.actor) ?? e.actor}
                  </Link>
                </td>
                <td>
                  <Link to={filterLink(params, 'action', e.action)} className="mono" title={`Only ${e.action} entries`}>
                    {e.action}
                  </Link>
                </td>
                <td>
                  <Target type={e.targetType} id={e.targetId} />
                </td>
                <td>{e.namespace}</td>
                <td>{e.ip ?? <span className="muted">—</span>}</td>
                <td>
                  {detail === '' ? (
                    <span className="muted">—</span>
                  ) : (
                    <code className="audit-detail" title={detail}>
                      {detail}
                    </code>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
