// The webhook signing secret: typed in, or generated here and shown this once with a Copy
// button (the API never returns a secret, so this is the only moment it can be copied).

import { useState } from 'react';
import { Field } from '../../components/ui';
import { generateWebhookSecret } from './secret';

export function SecretField({
  value,
  onChange,
  errors,
  keepHint,
}: {
  value: string;
  onChange: (v: string) => void;
  errors: string[] | undefined;
  /** Editing a channel that has one: empty keeps it. */
  keepHint: boolean;
}) {
  const [generated, setGenerated] = useState<string | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const shown = generated !== null && generated === value;
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  return (
    <div className="channel-secret">
      <Field
        label="Signing secret"
        hint={keepHint ? 'Leave empty to keep the stored secret. Secrets are write-only: never shown after saving.' : 'whsec_ and base64 (at least 16 bytes). Write-only: never shown after saving.'}
        errors={errors}
      >
        {(ids) => (
          <div className="secret-row">
            <input
              {...ids}
              className="mono"
              // A generated secret is shown so it can be copied; a typed one stays masked.
              type={shown ? 'text' : 'password'}
              autoComplete="off"
              spellCheck={false}
              value={value}
              onChange={(e) => {
                setGenerated(null);
                setCopied(null);
                onChange(e.target.value);
              }}
            />
            <button
              type="button"
              onClick={() => {
                const s = generateWebhookSecret();
                setGenerated(s);
                setCopied(null);
                onChange(s);
              }}
            >
              Generate
            </button>
            {shown && (
              <button type="button" onClick={() => void copy()}>
                Copy
              </button>
            )}
          </div>
        )}
      </Field>
      {shown && <p className="warning">Copy this secret now and give it to the receiver: once saved, Sundial never shows it again.</p>}
      <p className="muted" role="status" aria-live="polite">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'The clipboard is not available here: select the secret and copy it by hand.' : ''}
      </p>
    </div>
  );
}
