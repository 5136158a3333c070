// Policies: retries, timeout and overlap up front; backoff, misfire, priority and concurrency
// behind "Advanced" (which opens by itself when one of them has an error).

import { Field } from '../components/ui';
import { Disclosure } from './Disclosure';
import { ADVANCED_POLICY_POINTERS, POLICY_POINTERS as P } from './field-map';
import { MISFIRES, OVERLAPS, type BackoffType, type Misfire, type Overlap, type PoliciesForm } from './model';
import type { SectionProps } from './section';

const OVERLAP_TEXT: Record<Overlap, string> = {
  skip: 'skip the new run',
  buffer_one: 'queue one run',
  buffer_all: 'queue every run',
  cancel_other: 'cancel the running one',
  allow_all: 'run side by side',
};

const MISFIRE_TEXT: Record<Misfire, string> = {
  run_once: 'run once for all missed',
  skip: 'skip missed runs',
  run_all: 'run every missed one',
};

const DURATION_HINT = 'e.g. 30s, 5m, 1h30m';

export function PoliciesFields({ value, onChange, errors }: SectionProps<PoliciesForm>) {
  const advancedErrors = ADVANCED_POLICY_POINTERS.some((p) => errors(p) !== undefined);
  return (
    <>
      <div className="form-row">
        <Field label="Max attempts" hint="1 means no retry (at most 100)." errors={errors(P.maxAttempts)}>
          {(ids) => <input {...ids} inputMode="numeric" value={value.maxAttempts} onChange={(e) => onChange({ maxAttempts: e.target.value })} />}
        </Field>
        <Field label="Timeout" hint={`Per attempt; ${DURATION_HINT}.`} errors={errors(P.timeout)}>
          {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} value={value.timeout} onChange={(e) => onChange({ timeout: e.target.value })} />}
        </Field>
        <Field label="When the previous run is still running" errors={errors(P.overlap)}>
          {(ids) => (
            <select {...ids} value={value.overlap} onChange={(e) => onChange({ overlap: e.target.value as Overlap })}>
              {OVERLAPS.map((o) => (
                <option key={o} value={o}>
                  {o}: {OVERLAP_TEXT[o]}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Disclosure summary="Advanced: backoff, missed runs, priority, concurrency" attention={advancedErrors}>
        <div className="form-row">
          <Field label="Backoff" errors={errors(P.backoffType)}>
            {(ids) => (
              <select {...ids} value={value.backoffType} onChange={(e) => onChange({ backoffType: e.target.value as BackoffType })}>
                <option value="exponential">exponential</option>
                <option value="fixed">fixed</option>
              </select>
            )}
          </Field>
          <Field label="First retry after" hint={DURATION_HINT} errors={errors(P.backoffInitial)}>
            {(ids) => <input {...ids} className="mono" autoComplete="off" value={value.backoffInitial} onChange={(e) => onChange({ backoffInitial: e.target.value })} />}
          </Field>
          <Field label="Longest wait" hint={DURATION_HINT} errors={errors(P.backoffMax)}>
            {(ids) => <input {...ids} className="mono" autoComplete="off" value={value.backoffMax} onChange={(e) => onChange({ backoffMax: e.target.value })} />}
          </Field>
        </div>
        <label className="check">
          <input type="checkbox" checked={value.backoffJitter} onChange={(e) => onChange({ backoffJitter: e.target.checked })} />
          Randomize retry waits (jitter)
        </label>
        <div className="form-row">
          <Field label="Missed runs (no node was up)" errors={errors(P.misfirePolicy)}>
            {(ids) => (
              <select {...ids} value={value.misfirePolicy} onChange={(e) => onChange({ misfirePolicy: e.target.value as Misfire })}>
                {MISFIRES.map((m) => (
                  <option key={m} value={m}>
                    {m}: {MISFIRE_TEXT[m]}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Catch-up window" hint={`Older misses are dropped; ${DURATION_HINT}.`} errors={errors(P.catchupWindow)}>
            {(ids) => <input {...ids} className="mono" autoComplete="off" value={value.catchupWindow} onChange={(e) => onChange({ catchupWindow: e.target.value })} />}
          </Field>
        </div>
        <div className="form-row">
          <Field label="Priority" hint="-1000 to 1000; higher runs first." errors={errors(P.priority)}>
            {(ids) => <input {...ids} inputMode="numeric" value={value.priority} onChange={(e) => onChange({ priority: e.target.value })} />}
          </Field>
          <Field label="Concurrency limit (optional)" hint="Most runs at once; empty for no limit." errors={errors(P.concurrency)}>
            {(ids) => <input {...ids} inputMode="numeric" value={value.concurrency} onChange={(e) => onChange({ concurrency: e.target.value })} />}
          </Field>
          <Field label="Concurrency key (optional)" hint="Tasks sharing a key share the limit." errors={errors(P.concurrencyKey)}>
            {(ids) => <input {...ids} className="mono" autoComplete="off" value={value.concurrencyKey} onChange={(e) => onChange({ concurrencyKey: e.target.value })} />}
          </Field>
        </div>
      </Disclosure>
    </>
  );
}
