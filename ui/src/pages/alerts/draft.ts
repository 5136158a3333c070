// The rule form's state and the request bodies made from it. Params are kept as typed text per
// field (switching kinds keeps what was typed); a body carries only the fields of its kind, with
// counts as numbers when they are numbers (anything else is sent as typed, for the API to refuse
// at its field).

import type { AlertKind, AlertRule, AlertRuleCreate, AlertRulePatch } from './api';
import { kindSpec } from './kinds';

export interface RuleDraft {
  name: string;
  namespace: string;
  kind: AlertKind;
  params: Record<string, string>;
  for: string;
  channels: string[];
}

export function draftOf(r: AlertRule | null, namespace: string): RuleDraft {
  if (r === null) return { name: '', namespace, kind: 'consecutive_failures', params: {}, for: '', channels: [] };
  const params = Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return { name: r.name, namespace: r.namespace, kind: r.kind, params, for: r.for === '0s' ? '' : r.for, channels: [...r.channels] };
}

/** The params of the draft's kind: empty fields left out (the API fills defaults or says what is required). */
export function paramsOf(d: RuleDraft): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of kindSpec(d.kind).params) {
    const text = (d.params[p.field] ?? '').trim();
    if (text === '') continue;
    out[p.field] = p.input === 'count' && /^-?\d+$/.test(text) ? Number(text) : text;
  }
  return out;
}

/** `for` as sent: only kinds that take it have one; empty is none. */
function forOf(d: RuleDraft): string {
  return kindSpec(d.kind).takesFor && d.for.trim() !== '' ? d.for.trim() : '0s';
}

export function createBody(d: RuleDraft, withNamespace: boolean): AlertRuleCreate {
  const f = forOf(d);
  return {
    name: d.name.trim(),
    kind: d.kind,
    params: paramsOf(d),
    channels: d.channels,
    ...(withNamespace && d.namespace.trim() !== '' && { namespace: d.namespace.trim() }),
    ...(f !== '0s' && { for: f }),
  };
}

/** A PATCH: params are replaced whole, so they always go; the rest only when changed. */
export function patchBody(r: AlertRule, d: RuleDraft): AlertRulePatch {
  const p: AlertRulePatch = { params: paramsOf(d) };
  if (d.name.trim() !== r.name) p.name = d.name.trim();
  if (d.kind !== r.kind) p.kind = d.kind;
  const f = forOf(d);
  if (f !== r.for) p.for = f;
  if (d.channels.join('\n') !== r.channels.join('\n')) p.channels = d.channels;
  return p;
}
