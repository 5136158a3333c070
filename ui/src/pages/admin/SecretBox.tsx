// A new key's secret, shown this once. Copy goes through the clipboard API; where that is not
// allowed (no secure context, permission refused) the secret is selected for Ctrl+C instead.

import { useRef, useState } from 'react';
import type { CreatedApiKey } from './api';

/** The one-time secret of `created`; `onDone` hides it for good. */
export function SecretBox({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('yes');
    } catch {
      input.current?.focus();
      input.current?.select();
      setCopied('select');
    }
  };
  return (
    <section className="key-secret" aria-labelledby="key-secret-title">
      <h2 id="key-secret-title">New key “{created.name}” created</h2>
      <p className="warning">Copy this secret now. It will not be shown again: Sundial keeps only its hash.</p>
      <div className="secret-row">
        <label htmlFor="new-key-secret" className="visually-hidden">
          Secret of {created.name}
        </label>
        <input id="new-key-secret" ref={input} readOnly autoFocus value={created.secret} onFocus={(e) => e.currentTarget.select()} spellCheck={false} autoComplete="off" />
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
      <p className="muted" role="status" aria-live="polite">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'select' ? 'The clipboard is not available here: the secret is selected, press Ctrl+C (⌘C) to copy it.' : ''}
      </p>
    </section>
  );
}
