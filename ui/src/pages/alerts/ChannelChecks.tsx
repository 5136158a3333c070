// The rule's channels: a checkbox per channel of the namespace (/v1/channels, the first 200), a
// multi-select that needs no library and works by keyboard. A channel the rule names that is no
// longer listed stays, ticked and marked, so what the rule has is what is shown.

import { useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { Link } from 'react-router';
import { FieldErrors } from '../../components/ui';
import { listChannels } from '../channels/api';

function useChannelNames(namespace: string) {
  return useQuery({
    queryKey: ['channels', 'names', namespace],
    queryFn: async () => (await listChannels(namespace, undefined, 200)).items.map((c) => c.name),
    enabled: namespace.trim() !== '',
  });
}

export function ChannelChecks({ namespace, value, onChange, errors }: { namespace: string; value: string[]; onChange: (v: string[]) => void; errors: string[] | undefined }) {
  const id = useId();
  const names = useChannelNames(namespace);
  const listed = names.data ?? [];
  const options = [...value.filter((c) => !listed.includes(c)), ...listed];
  const toggle = (c: string, on: boolean): void => onChange(on ? [...value, c] : value.filter((x) => x !== c));
  const bad = errors !== undefined && errors.length > 0;
  return (
    <fieldset className={`rule-channels${bad ? ' field-invalid' : ''}`} aria-describedby={bad ? `${id}-err` : undefined}>
      <legend>Channels</legend>
      {names.isPending && namespace.trim() !== '' ? (
        <p className="muted">Loading channels…</p>
      ) : options.length === 0 ? (
        <p className="muted">
          No channels in namespace <code>{namespace || '—'}</code>: the alert will only be listed. <Link to="/channels">Add a channel</Link>.
        </p>
      ) : (
        <div className="rule-checks">
          {options.map((c) => (
            <label key={c} className={`rule-check${value.includes(c) ? ' on' : ''}`}>
              <input type="checkbox" checked={value.includes(c)} aria-invalid={bad || undefined} onChange={(e) => toggle(c, e.target.checked)} />
              {c}
              {listed.includes(c) ? '' : ' (not found)'}
            </label>
          ))}
        </div>
      )}
      {bad && <FieldErrors id={`${id}-err`} errors={errors} />}
    </fieldset>
  );
}
