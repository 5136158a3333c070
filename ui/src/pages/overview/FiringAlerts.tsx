// The overview's strip of firing alerts: shown only while something fires (an empty strip would
// be noise on every visit), each alert with its rule, why and since when, and a link to the
// Alerts page. Read again on the alerts' own period (no event tells of them).

import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Time } from '../../components/ui';
import { firingAlertsQuery } from '../alerts/api';

/** How many alerts the strip names; the rest are counted, with the link to all. */
const SHOWN = 5;

export function FiringAlerts({ namespace }: { namespace: string | undefined }) {
  const firing = useQuery(firingAlertsQuery(namespace));
  const alerts = firing.data ?? [];
  if (alerts.length === 0) return null;
  return (
    <section className="ov-alerts" aria-labelledby="ov-alerts-h">
      <h2 id="ov-alerts-h">
        <span className="ov-flag">firing</span> {alerts.length === 1 ? '1 alert' : `${alerts.length} alerts`}
      </h2>
      <ul>
        {alerts.slice(0, SHOWN).map((a) => (
          <li key={a.id}>
            <strong>{a.rule.name}</strong>: {a.why} · since <Time iso={a.since} />
          </li>
        ))}
      </ul>
      <Link to="/alerts">{alerts.length > SHOWN ? `All ${alerts.length} alerts` : 'All alerts'}</Link>
    </section>
  );
}
