// A task's policies in words, with the raw value alongside where words would hide it.

import type { Task } from '../../api/client';
import { Props, type PropRow } from './Props';

type Policies = Task['policies'];

const OVERLAP: Record<string, string> = {
  skip: 'skip the new run while one runs',
  buffer_one: 'keep one waiting run',
  buffer_all: 'queue every run',
  cancel_other: 'cancel the running one',
  allow_all: 'run side by side',
};
const MISFIRE: Record<string, string> = { run_once: 'run once', skip: 'skip', run_all: 'run each missed one' };

function retryText(retry: Policies['retry']): string | null {
  if (retry === undefined) return null;
  const max = retry.maxAttempts ?? 1;
  if (max <= 1) return 'no retries (1 attempt)';
  const b = retry.backoff;
  const backoff = b === undefined ? '' : `, ${b.type ?? 'exponential'} backoff${b.initial ? ` from ${b.initial}` : ''}${b.max ? ` up to ${b.max}` : ''}${b.jitter ? ' with jitter' : ''}`;
  return `up to ${max} attempts${backoff}`;
}

/** The rows describing a task's policies (only those it has). */
export function policyRows(p: Policies): PropRow[] {
  return [
    ['Retry', retryText(p.retry)],
    ['Timeout', p.timeout],
    [
      'Overlap',
      p.overlap !== undefined && (
        <>
          {OVERLAP[p.overlap] ?? p.overlap} <code className="muted">{p.overlap}</code>
        </>
      ),
    ],
    [
      'Misfire',
      p.misfire !== undefined && (
        <>
          {MISFIRE[p.misfire.policy ?? 'run_once'] ?? p.misfire.policy}
          {p.misfire.catchupWindow ? ` within ${p.misfire.catchupWindow}` : ''} <code className="muted">{p.misfire.policy}</code>
        </>
      ),
    ],
    ['Priority', p.priority !== undefined ? String(p.priority) : null],
    ['Concurrency', p.concurrency === undefined ? null : p.concurrency === null ? 'no limit' : `at most ${p.concurrency} at once`],
    ['Concurrency key', p.concurrencyKey ? <code>{p.concurrencyKey}</code> : null],
    ['Notify', p.notify !== undefined && p.notify.length > 0 && <NotifyList rules={p.notify} />],
  ];
}

/** Each rule as "failed, timed out → ops-hook". */
function NotifyList({ rules }: { rules: NonNullable<Policies['notify']> }) {
  return (
    <ul className="notify-list">
      {rules.map((r, i) => (
        <li key={i}>
          {r.on.map((e) => e.replace('_', ' ')).join(', ')} → <code>{r.channel}</code>
        </li>
      ))}
    </ul>
  );
}

/** The policies panel of the task detail. */
export function PoliciesPanel({ policies }: { policies: Policies }) {
  return (
    <section className="panel" aria-labelledby="policies-h">
      <h2 id="policies-h">Policies</h2>
      <Props rows={policyRows(policies)} />
    </section>
  );
}
