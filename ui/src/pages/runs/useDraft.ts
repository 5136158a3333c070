// Filter controls show what was just chosen at once. Their committed value lives in the URL,
// and the router applies URL changes in a transition, after the event: a control bound to the
// URL alone would snap back to its old value for a moment (and a checkbox would seem unclicked).

import { useState } from 'react';

/** Local state that starts as `value` and follows it whenever `value` itself changes. */
export function useDraft<T>(value: T): [T, (v: T) => void] {
  const [draft, setDraft] = useState(value);
  const [seen, setSeen] = useState(value);
  if (!Object.is(seen, value)) {
    setSeen(value);
    setDraft(value);
  }
  return [draft, setDraft];
}
