// Create an alert rule, or change the one being edited: a kind picker (the installation-wide
// kinds only for admins), that kind's params and nothing else, `for` for the kinds that take it,
// and the channels. The API's messages go next to their fields, the rest above the buttons.

import { useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { ErrorMessage, Field } from '../../components/ui';
import { useDraftForm } from '../../components/useDraftForm';
import { alertRuleKeys, createAlertRule, updateAlertRule, type AlertKind, type AlertRule } from './api';
import { ChannelChecks } from './ChannelChecks';
import { createBody, draftOf, patchBody, type RuleDraft } from './draft';
import { kindSpec, kindsFor } from './kinds';
import { ParamFields } from './ParamFields';

export function AlertRuleForm({
  editing,
  namespace,
  pickNamespace,
  isAdmin,
  onDone,
}: {
  editing: AlertRule | null;
  namespace: string;
  pickNamespace: boolean;
  isAdmin: boolean;
  onDone: () => void;
}) {
  const queryClient = useQueryClient();
  const { draft, setDraft, set, mutation, messages } = useDraftForm<RuleDraft>(
    () => draftOf(editing, namespace),
    (d) => (editing === null ? createAlertRule(createBody(d, pickNamespace)) : updateAlertRule(editing, patchBody(editing, d))),
    async () => {
      await queryClient.invalidateQueries({ queryKey: alertRuleKeys.all });
      setDraft(draftOf(null, namespace));
      onDone();
    },
  );
  const spec = kindSpec(draft.kind);
  const kinds = kindsFor(isAdmin);
  // The paths with a field on screen; a refusal with none of them is shown above the buttons.
  const shownPaths = ['/name', '/namespace', '/kind', ...spec.params.map((p) => `/params/${p.field}`), ...(spec.takesFor ? ['/for'] : []), '/channels'];
  const shownAtField = shownPaths.some((f) => messages(f) !== undefined);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    mutation.mutate();
  };
  const title = editing === null ? 'New alert rule' : `Edit alert rule “${editing.name}”`;
  return (
    <form className="alert-rule-form" onSubmit={submit} aria-labelledby="alert-rule-form-title" noValidate>
      <h2 id="alert-rule-form-title">{title}</h2>
      <div className="form-row">
        <Field label="Name" hint="Letters, digits and . _ : -" errors={messages('/name')}>
          {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} autoFocus={editing !== null} value={draft.name} onChange={(e) => set({ name: e.target.value })} />}
        </Field>
        {pickNamespace && editing === null && (
          <Field label="Namespace" hint="Its tasks and channels are the rule's." errors={messages('/namespace')}>
            {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} value={draft.namespace} onChange={(e) => set({ namespace: e.target.value })} />}
          </Field>
        )}
        <Field label="Kind" hint="What the rule watches." errors={messages('/kind')}>
          {(ids) => (
            <select {...ids} value={draft.kind} onChange={(e) => set({ kind: e.target.value as AlertKind })}>
              {/* A rule of a kind this key may not write (being edited) keeps its kind as a choice. */}
              {[...(kinds.some((k) => k.kind === draft.kind) ? [] : [spec]), ...kinds].map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.text}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <ParamFields
        spec={spec}
        namespace={draft.namespace}
        values={draft.params}
        onChange={(field, v) => set({ params: { ...draft.params, [field]: v } })}
        messages={messages}
      />
      {spec.takesFor && (
        <Field label="For (optional)" hint='How long the condition must hold before the alert fires, such as "5m". Empty: at once.' errors={messages('/for')}>
          {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} size={12} value={draft.for} onChange={(e) => set({ for: e.target.value })} />}
        </Field>
      )}
      <ChannelChecks namespace={draft.namespace} value={draft.channels} onChange={(channels) => set({ channels })} errors={messages('/channels')} />
      {mutation.error !== null && !shownAtField && <ErrorMessage error={mutation.error} />}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={mutation.isPending}>
          {mutation.isPending ? 'Saving…' : editing === null ? 'Create rule' : 'Save rule'}
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
