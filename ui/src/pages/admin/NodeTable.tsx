// The cluster's nodes as a table: status as a badge (the word, not only its colour), roles, runs
// in flight, where each runs, and how long ago it last sent a heartbeat, counted up every second
// between reads by the server's clock (the heartbeat times are the server's).

import { useEffect, useState } from 'react';
import { StatusBadge, Time } from '../../components/ui';
import { ago, localTime } from '../../format';
import { serverNow } from '../overview/serverClock';
import type { ClusterNode } from './api';

/** The server's time now, again every second. */
function useServerNow(): number {
  const [now, setNow] = useState(serverNow);
  useEffect(() => {
    const t = setInterval(() => setNow(serverNow()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

/** The table. */
export function NodeTable({ nodes }: { nodes: ClusterNode[] }) {
  const now = useServerNow();
  return (
    <div className="table-wrap">
      <table className="node-table">
        <caption className="visually-hidden">Cluster nodes</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Status</th>
            <th scope="col">Roles</th>
            <th scope="col" className="num">
              Runs in flight
            </th>
            <th scope="col">Host</th>
            <th scope="col">Version</th>
            <th scope="col">Started</th>
            <th scope="col">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.id}>
              <th scope="row">{n.id}</th>
              <td>
                <StatusBadge status={n.status} />
              </td>
              <td>{n.roles.length === 0 ? <span className="muted">—</span> : n.roles.join(', ')}</td>
              <td className="num">{n.runsInFlight}</td>
              <td>
                {n.host} <span className="muted">pid {n.pid}</span>
              </td>
              <td className="mono">{n.version}</td>
              <td>
                <Time iso={n.startedAt} />
              </td>
              <td>
                <time dateTime={n.lastHeartbeatAt} title={localTime(n.lastHeartbeatAt)}>
                  {ago(now - Date.parse(n.lastHeartbeatAt))}
                </time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
