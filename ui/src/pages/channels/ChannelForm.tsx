// Create a channel, or change the one being edited. Only the fields a type takes are shown (a
// URL for webhook and Slack, addresses for e-mail, a secret for webhooks); the API's messages go
// next to their fields, the rest above the buttons.

import { useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { ErrorMessage, Field } from '../../components/ui';
import { useDraftForm } from '../../components/useDraftForm';
import { CHANNEL_TYPES, channelKeys, createChannel, updateChannel, type Channel, type ChannelCreate, type ChannelPatch, type ChannelType } from './api';
import { SecretField } from './SecretField';

interface Draft {
  name: string;
  namespace: string;
  type: ChannelType;
  url: string;
  to: string;
  secret: string;
}

const TYPE_TEXT: Record<ChannelType, string> = {
  webhook: 'webhook: signed JSON POST',
  slack: 'slack: incoming webhook',
  email: 'email: through the server’s SMTP',
};

const FIELDS = ['/name', '/namespace', '/type', '/url', '/to', '/secret'];

function draftOf(c: Channel | null, namespace: string): Draft {
  return c === null
    ? { name: '', namespace, type: 'webhook', url: '', to: '', secret: '' }
    : { name: c.name, namespace: c.namespace, type: c.type, url: c.url ?? '', to: c.to ?? '', secret: '' };
}

/** The body of a POST: only the fields the type takes. */
function createBody(d: Draft, withNamespace: boolean): ChannelCreate {
  return {
    name: d.name.trim(),
    type: d.type,
    ...(withNamespace && d.namespace.trim() !== '' && { namespace: d.namespace.trim() }),
    ...(d.type !== 'email' && { url: d.url.trim() }),
    ...(d.type === 'email' && { to: d.to.trim() }),
    ...(d.type === 'webhook' && d.secret !== '' && { secret: d.secret }),
  };
}

/** The body of a PATCH: what changed; an empty secret keeps the stored one. */
function patchBody(c: Channel, d: Draft): ChannelPatch {
  const p: ChannelPatch = {};
  if (d.name.trim() !== c.name) p.name = d.name.trim();
  if (d.type !== c.type) p.type = d.type;
  const url = d.type === 'email' ? null : d.url.trim() || null;
  const to = d.type === 'email' ? d.to.trim() || null : null;
  if (url !== c.url) p.url = url;
  if (to !== c.to) p.to = to;
  if (d.type === 'webhook' && d.secret !== '') p.secret = d.secret;
  return p;
}

export function ChannelForm({ editing, namespace, pickNamespace, onDone }: { editing: Channel | null; namespace: string; pickNamespace: boolean; onDone: () => void }) {
  const queryClient = useQueryClient();
  const { draft, setDraft, set, mutation, messages } = useDraftForm<Draft>(
    () => draftOf(editing, namespace),
    (d) => (editing === null ? createChannel(createBody(d, pickNamespace)) : updateChannel(editing, patchBody(editing, d))),
    async () => {
      await queryClient.invalidateQueries({ queryKey: channelKeys.all });
      // The secret (generated or typed) leaves the page with the form.
      setDraft(draftOf(null, namespace));
      onDone();
    },
  );
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    mutation.mutate();
  };
  const title = editing === null ? 'New channel' : `Edit channel “${editing.name}”`;
  return (
    <form className="channel-form" onSubmit={submit} aria-labelledby="channel-form-title" noValidate>
      <h2 id="channel-form-title">{title}</h2>
      <div className="form-row">
        <Field label="Name" hint="Tasks name it in policies.notify: letters, digits and . _ : -" errors={messages('/name')}>
          {/* "Edit" in the table sends keyboard users here, to the form it filled. */}
          {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} autoFocus={editing !== null} value={draft.name} onChange={(e) => set({ name: e.target.value })} />}
        </Field>
        {pickNamespace && editing === null && (
          <Field label="Namespace" errors={messages('/namespace')}>
            {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} value={draft.namespace} onChange={(e) => set({ namespace: e.target.value })} />}
          </Field>
        )}
        <Field label="Type" errors={messages('/type')}>
          {(ids) => (
            <select {...ids} value={draft.type} onChange={(e) => set({ type: e.target.value as ChannelType })}>
              {CHANNEL_TYPES.map((t) => (
                <option key={t} value={t}>
                  {TYPE_TEXT[t]}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {draft.type === 'email' ? (
        <Field label="Recipients" hint="E-mail addresses, comma-separated." errors={messages('/to')}>
          {(ids) => <input {...ids} autoComplete="off" value={draft.to} onChange={(e) => set({ to: e.target.value })} />}
        </Field>
      ) : (
        <Field label="URL" hint={draft.type === 'slack' ? 'The Slack incoming-webhook URL (a credential: viewers see only its origin).' : 'Where the signed JSON is POSTed.'} errors={messages('/url')}>
          {(ids) => <input {...ids} className="mono" type="url" autoComplete="off" spellCheck={false} value={draft.url} onChange={(e) => set({ url: e.target.value })} />}
        </Field>
      )}
      {draft.type === 'webhook' && (
        <SecretField value={draft.secret} onChange={(secret) => set({ secret })} errors={messages('/secret')} keepHint={editing !== null && editing.secretSet} />
      )}
      {mutation.error !== null && !FIELDS.some((f) => messages(f) !== undefined) && <ErrorMessage error={mutation.error} />}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={mutation.isPending}>
          {mutation.isPending ? 'Saving…' : editing === null ? 'Create channel' : 'Save channel'}
        </button>
        {editing !== null && (
          <button type="button" onClick={onDone}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
