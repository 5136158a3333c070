// Alerts as a table: the rule (and its namespace and kind), since when it fired, when it
// resolved, and why (the evaluator's sentence with the measured value).

import { StatusBadge, Time } from '../../components/ui';
import type { Alert } from './api';

export function AlertTable({ alerts, caption, showNamespace }: { alerts: Alert[]; caption: string; showNamespace: boolean }) {
  return (
    <div className="table-wrap">
      <table className="alert-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            {showNamespace && <th scope="col">Namespace</th>}
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Since</th>
            <th scope="col">Resolved</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={a.id}>
              <th scope="row">{a.rule.name}</th>
              {showNamespace && <td>{a.rule.namespace}</td>}
              <td>
                <code>{a.rule.kind}</code>
              </td>
              <td>
                <StatusBadge status={a.status} />
              </td>
              <td>
                <Time iso={a.since} />
              </td>
              <td>{a.resolvedAt === null ? <span className="muted">—</span> : <Time iso={a.resolvedAt} />}</td>
              <td className="alert-why">{a.why}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
