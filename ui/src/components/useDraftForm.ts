// The plumbing of a create-or-edit form: a draft, a save that sends it, and the API's refusal
// split by field. Changing the draft clears the refusal (its messages were about the old values).

import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError } from '../api/problem';

/** A form's draft, its save, and the API's messages for a field path (undefined when none). */
export function useDraftForm<D>(initial: () => D, save: (draft: D) => Promise<unknown>, onSaved: () => Promise<void>) {
  const [draft, setDraft] = useState<D>(initial);
  const mutation = useMutation({ mutationFn: () => save(draft), onSuccess: onSaved });
  const set = (patch: Partial<D>): void => {
    setDraft((d) => ({ ...d, ...patch }));
    if (mutation.isError) mutation.reset();
  };
  const err = mutation.error instanceof ApiError ? mutation.error : null;
  const messages = (path: string): string[] | undefined => {
    const m = err?.fieldMessages(path) ?? [];
    return m.length > 0 ? m : undefined;
  };
  return { draft, setDraft, set, mutation, messages };
}
