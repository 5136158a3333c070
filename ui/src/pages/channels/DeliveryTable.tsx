// A channel's deliveries, newest first: the event, its status (pending, delivered, dead), when
// it was queued, delivered or is tried next, the run it is about, and its attempts with their
// errors behind a disclosure (up to 50 per delivery would swamp the table).

import { Link } from 'react-router';
import { StatusBadge, Time } from '../../components/ui';
import type { Delivery } from './api';

export function DeliveryTable({ deliveries }: { deliveries: Delivery[] }) {
  return (
    <div className="table-wrap">
      <table className="delivery-table">
        <caption className="visually-hidden">Deliveries</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Queued</th>
            <th scope="col">Outcome</th>
            <th scope="col">Run</th>
            <th scope="col">Attempts</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <DeliveryRow key={d.id} delivery={d} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeliveryRow({ delivery: d }: { delivery: Delivery }) {
  return (
    <tr>
      <th scope="row">
        <code title={`webhook-id ${d.id}`}>{d.type}</code>
      </th>
      <td>
        <StatusBadge status={d.status} />
      </td>
      <td>
        <Time iso={d.createdAt} />
      </td>
      <td>
        <Outcome delivery={d} />
      </td>
      <td>{d.runId === null ? <span className="muted">—</span> : <Link to={`/runs/${d.runId}`}>{d.runId.slice(-8)}</Link>}</td>
      <td className="delivery-attempts">
        <Attempts delivery={d} />
      </td>
    </tr>
  );
}

function Outcome({ delivery: d }: { delivery: Delivery }) {
  if (d.status === 'delivered') return <>delivered <Time iso={d.deliveredAt} /></>;
  return (
    <>
      {d.status === 'pending' && (
        <>
          next try <Time iso={d.nextAttemptAt} />
        </>
      )}
      {d.lastError !== null && <div className="delivery-error">{d.lastError}</div>}
    </>
  );
}

function Attempts({ delivery: d }: { delivery: Delivery }) {
  if (d.attemptCount === 0) return <span className="muted">none yet</span>;
  return (
    <details>
      <summary>
        {d.attemptCount} {d.attemptCount === 1 ? 'attempt' : 'attempts'}
      </summary>
      <ol className="attempt-list">
        {d.attempts.map((a) => (
          <li key={a.at} className={a.ok ? 'ok' : 'bad'}>
            <Time iso={a.at} exact /> · {a.ok ? 'ok' : 'failed'}
            {a.status !== null && <> · HTTP {a.status}</>} · {a.durationMs} ms
            {/* The error often only repeats the status ("HTTP 500"). */}
            {a.error !== null && a.error !== `HTTP ${a.status}` && <div className="delivery-error">{a.error}</div>}
          </li>
        ))}
      </ol>
    </details>
  );
}
