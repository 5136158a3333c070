// The alert rules: what each watches (kind and params), how long it must hold, where it is
// routed, and whether it is on; for keys that may write a rule, Edit, Enable/Disable and Delete
// (asked in a dialog first).

import { useQueryClient } from '@tanstack/react-query';
import { DeleteButton } from '../../components/ui';
import { alertRuleKeys, deleteAlertRule, type AlertRule } from './api';
import { RuleToggle } from './RuleToggle';

/** `{ task: "x", n: 3 }` as `task x · n 3`: short enough for a table cell. */
function paramsText(params: Record<string, unknown>): string {
  const parts = Object.entries(params).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length === 0 ? '—' : parts.join(' · ');
}

export function AlertRuleTable({
  rules,
  showNamespace,
  canWrite,
  onEdit,
}: {
  rules: AlertRule[];
  showNamespace: boolean;
  /** Whether the key may change `rule` (operators, and admins for the installation-wide kinds). */
  canWrite: (rule: AlertRule) => boolean;
  onEdit: (rule: AlertRule) => void;
}) {
  const actions = rules.some(canWrite);
  return (
    <div className="table-wrap">
      <table className="alert-table alert-rule-table">
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
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
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
              <td className="rule-channel-list">{r.channels.length === 0 ? <span className="muted">none</span> : r.channels.join(', ')}</td>
              <td>{r.enabled ? 'enabled' : <span className="muted">disabled</span>}</td>
              {actions && <td className="row-actions">{canWrite(r) && <div className="rule-actions"><RuleActions rule={r} onEdit={onEdit} /></div>}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RuleActions({ rule: r, onEdit }: { rule: AlertRule; onEdit: (rule: AlertRule) => void }) {
  const queryClient = useQueryClient();
  return (
    <>
      <button type="button" onClick={() => onEdit(r)}>
        Edit<span className="visually-hidden"> {r.name}</span>
      </button>
      <RuleToggle rule={r} />
      <DeleteButton
        name={r.name}
        what="rule"
        message="Its firing alert, if any, resolves without a notification; past alerts stay listed."
        onDelete={async () => {
          await deleteAlertRule(r);
          await queryClient.invalidateQueries({ queryKey: alertRuleKeys.all });
        }}
      />
    </>
  );
}
