// The check that `policies.notify` names channels that exist in the task's namespace: the policy
// parser knows the shape, only the store knows the channels. One read per rule, on task writes
// that carry rules, never on the run path.
import type { FieldError } from '../core/errors.js';
import type { Store } from '../store/store.js';

/** Field errors for rules of raw `notify` input whose channel is not in `namespace`. */
export async function missingChannels(store: Store, namespace: string, notify: unknown): Promise<FieldError[]> {
  if (!Array.isArray(notify)) return [];
  const errors: FieldError[] = [];
  const known = new Map<string, boolean>();
  for (const [i, rule] of notify.entries()) {
    const name = (rule as { channel?: unknown } | null)?.channel;
    if (typeof name !== 'string' || name === '') continue;
    if (!known.has(name)) known.set(name, (await store.notifications.getChannel(namespace, name)) !== null);
    if (known.get(name) === false) errors.push({ path: `/policies/notify/${i}/channel`, message: `no channel "${name}" in namespace "${namespace}" (create it with POST /v1/channels)` });
  }
  return errors;
}
