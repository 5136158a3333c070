// /alerts: what is firing now (first, all of it), then what fired and resolved, newest first,
// paged by the API's cursor; the rules behind them last, with the form to create and edit them
// for operators (the installation-wide kinds for admins only).

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, Pager, useCursorPager } from '../components/ui';
import { ALERTS_REFRESH_MS, alertKeys, alertRuleKeys, firingAlertsQuery, listAlertRules, listAlerts, type AlertRule } from './alerts/api';
import { AlertRuleForm } from './alerts/AlertRuleForm';
import { AlertRuleTable } from './alerts/AlertRuleTable';
import { AlertTable } from './alerts/AlertTable';
import { kindSpec } from './alerts/kinds';
import './Runs.css';
import './Alerts.css';

export function Alerts() {
  const { me } = useSession();
  const namespaces = me?.namespaces ?? [];
  const several = namespaces.includes('*') || namespaces.length > 1;
  const firing = useQuery(firingAlertsQuery());
  const pager = useCursorPager('');
  const resolved = useQuery({
    queryKey: alertKeys.resolved(pager.cursor),
    queryFn: () => listAlerts('resolved', { cursor: pager.cursor }),
    placeholderData: keepPreviousData,
    // Only the first page changes as alerts resolve; later pages hold still while read.
    refetchInterval: pager.page === 1 ? ALERTS_REFRESH_MS : false,
  });
  return (
    <>
      <PageHeader title="Alerts" subtitle="Firing alerts first, then resolved ones, newest first; the rules behind them below." />
      <section className="panel" aria-labelledby="alerts-firing">
        <h2 id="alerts-firing">Firing{firing.data !== undefined && ` (${firing.data.length})`}</h2>
        <ErrorMessage error={firing.error} />
        {firing.data === undefined ? (
          !firing.isError && <Loading what="Loading firing alerts" />
        ) : firing.data.length === 0 ? (
          <p className="muted">Nothing is firing.</p>
        ) : (
          <AlertTable alerts={firing.data} caption="Firing alerts" showNamespace={several} />
        )}
      </section>
      <section className="panel" aria-labelledby="alerts-resolved">
        <h2 id="alerts-resolved">Resolved</h2>
        <ErrorMessage error={resolved.error} />
        {resolved.data === undefined ? (
          !resolved.isError && <Loading what="Loading resolved alerts" />
        ) : resolved.data.items.length === 0 ? (
          <p className="muted">No alert has resolved yet.</p>
        ) : (
          <div className={resolved.isPlaceholderData ? 'stale' : undefined}>
            <AlertTable alerts={resolved.data.items} caption="Resolved alerts" showNamespace={several} />
          </div>
        )}
        <Pager page={pager.page} nextCursor={resolved.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={resolved.isPlaceholderData} />
      </section>
      <RulesSection namespaces={namespaces} showNamespace={several} />
    </>
  );
}

/** The namespace a new rule goes to: the key's only one, else `default` (as for channels). */
function homeNamespace(namespaces: readonly string[]): string {
  if (namespaces.length === 1 && namespaces[0] !== '*') return namespaces[0]!;
  return namespaces.includes('*') || namespaces.includes('default') ? 'default' : (namespaces[0] ?? 'default');
}

function RulesSection({ namespaces, showNamespace }: { namespaces: readonly string[]; showNamespace: boolean }) {
  const { canOperate, isAdmin } = useSession();
  const [editing, setEditing] = useState<AlertRule | null>(null);
  const pager = useCursorPager('');
  const rules = useQuery({
    queryKey: alertRuleKeys.list(pager.cursor),
    queryFn: () => listAlertRules(pager.cursor),
    placeholderData: keepPreviousData,
  });
  const canWrite = (r: AlertRule): boolean => canOperate && (isAdmin || !kindSpec(r.kind).adminOnly);
  return (
    <>
      <section className="panel" aria-labelledby="alerts-rules">
        <h2 id="alerts-rules">Rules</h2>
        <ErrorMessage error={rules.error} />
        {rules.data === undefined ? (
          !rules.isError && <Loading what="Loading alert rules" />
        ) : rules.data.items.length === 0 ? (
          <p className="muted">No alert rules yet.</p>
        ) : (
          <div className={rules.isPlaceholderData ? 'stale' : undefined}>
            <AlertRuleTable rules={rules.data.items} showNamespace={showNamespace} canWrite={canWrite} onEdit={setEditing} />
          </div>
        )}
        <Pager page={pager.page} nextCursor={rules.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={rules.isPlaceholderData} />
      </section>
      {canOperate && (
        <section className="panel">
          {/* Keyed by the rule, so picking another one starts the form afresh ("Edit" focuses its name). */}
          <AlertRuleForm
            key={editing?.id ?? 'new'}
            editing={editing}
            namespace={homeNamespace(namespaces)}
            pickNamespace={showNamespace}
            isAdmin={isAdmin}
            onDone={() => setEditing(null)}
          />
        </section>
      )}
    </>
  );
}
