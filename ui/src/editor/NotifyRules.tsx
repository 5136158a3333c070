// policies.notify: rules of which outcomes to tell which channel. Events are checkboxes (a
// multi-select that needs no library and works by keyboard); channels come from /v1/channels in
// the task's namespace. The API's messages ("rule 2: no channel …", see field-map.ts) go under
// the rule they are about; the rest under the list.

import { useQuery } from '@tanstack/react-query';
import { useId, useRef, useState } from 'react';
import { Link } from 'react-router';
import { FieldErrors } from '../components/ui';
import { listChannels } from '../pages/channels/api';
import { newNotifyRow, NOTIFY_EVENTS, type NotifyEvent, type NotifyRow } from './model';

const EVENT_TEXT: Record<NotifyEvent, string> = {
  failed: 'failed',
  timed_out: 'timed out',
  retries_exhausted: 'retries exhausted',
  lost: 'lost',
  succeeded: 'succeeded',
  recovered: 'recovered',
};

/** Channel names of `namespace` for the picker (the first 200: more would not fit a select anyway). */
function useChannelNames(namespace: string) {
  return useQuery({
    queryKey: ['channels', 'names', namespace],
    queryFn: async () => (await listChannels(namespace, undefined, 200)).items.map((c) => c.name),
    enabled: namespace.trim() !== '',
  });
}

export function NotifyRules({
  rules,
  onChange,
  errors,
  namespace,
}: {
  rules: NotifyRow[];
  onChange: (rules: NotifyRow[]) => void;
  errors: string[] | undefined;
  namespace: string;
}) {
  const channels = useChannelNames(namespace);
  const addButton = useRef<HTMLButtonElement>(null);
  const [added, setAdded] = useState<number | null>(null);
  const ruleErrors = (i: number): string[] => (errors ?? []).filter((m) => m.startsWith(`rule ${i + 1}:`));
  const general = (errors ?? []).filter((m) => !/^rule \d+:/.test(m));
  const generalId = useId();
  const update = (i: number, patch: Partial<NotifyRow>): void => onChange(rules.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className={`notify-rules${errors ? ' field-invalid' : ''}`}>
      {rules.length === 0 && <p className="muted">No one is told about this task’s runs.</p>}
      {rules.map((r, i) => (
        <Rule
          key={r.id}
          index={i}
          rule={r}
          channels={channels.data ?? []}
          loading={channels.isPending && namespace.trim() !== ''}
          errors={ruleErrors(i)}
          autoFocus={r.id === added}
          onChange={(patch) => update(i, patch)}
          onRemove={() => {
            onChange(rules.filter((_, j) => j !== i));
            addButton.current?.focus();
          }}
        />
      ))}
      <div className="notify-add">
        <button
          type="button"
          ref={addButton}
          onClick={() => {
            const row = newNotifyRow(undefined, channels.data?.[0] ?? '');
            setAdded(row.id);
            onChange([...rules, row]);
          }}
        >
          + Add notify rule
        </button>
        <small className="hint">
          Channels of namespace <code>{namespace || '—'}</code>; <Link to="/channels">manage channels</Link>.
        </small>
      </div>
      {general.length > 0 && <FieldErrors id={generalId} errors={general} />}
    </div>
  );
}

function Rule({
  index,
  rule,
  channels,
  loading,
  errors,
  autoFocus,
  onChange,
  onRemove,
}: {
  index: number;
  rule: NotifyRow;
  channels: string[];
  loading: boolean;
  errors: string[];
  autoFocus: boolean;
  onChange: (patch: Partial<NotifyRow>) => void;
  onRemove: () => void;
}) {
  const id = useId();
  const n = index + 1;
  const bad = errors.length > 0;
  // A rule naming a channel that is gone (deleted, renamed) keeps it as a choice, so what the
  // task has is what the form shows, and the API's refusal says why.
  const options = rule.channel !== '' && !channels.includes(rule.channel) ? [rule.channel, ...channels] : channels;
  const toggle = (e: NotifyEvent, on: boolean): void =>
    onChange({ on: NOTIFY_EVENTS.filter((x) => (x === e ? on : rule.on.includes(x))) });
  return (
    <fieldset className={`notify-rule${bad ? ' field-invalid' : ''}`}>
      <legend>Rule {n}</legend>
      <div className="notify-rule-body">
        <fieldset className="event-checks">
          <legend>Rule {n} events</legend>
          {NOTIFY_EVENTS.map((e) => (
            <label key={e} className={`event-check${rule.on.includes(e) ? ' on' : ''}`}>
              <input type="checkbox" checked={rule.on.includes(e)} onChange={(ev) => toggle(e, ev.target.checked)} />
              {EVENT_TEXT[e]}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={`${id}-channel`}>Rule {n} channel</label>
          <select
            id={`${id}-channel`}
            value={rule.channel}
            autoFocus={autoFocus}
            aria-invalid={bad || undefined}
            aria-describedby={bad ? `${id}-err` : undefined}
            onChange={(e) => onChange({ channel: e.target.value })}
          >
            <option value="">{loading ? 'Loading channels…' : options.length === 0 ? 'No channels in this namespace' : 'Pick a channel'}</option>
            {options.map((c) => (
              <option key={c} value={c}>
                {c}
                {channels.includes(c) ? '' : ' (not found)'}
              </option>
            ))}
          </select>
        </div>
        <button type="button" className="icon" aria-label={`Remove rule ${n}`} title="Remove rule" onClick={onRemove}>
          ✕
        </button>
      </div>
      {bad && <FieldErrors id={`${id}-err`} errors={errors.map((m) => m.replace(/^rule \d+: /, ''))} />}
    </fieldset>
  );
}
