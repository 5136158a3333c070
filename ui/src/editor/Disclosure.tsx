// A <details> that opens by itself when something inside needs attention (an error), and
// otherwise stays as the user left it.

import { useState, type ReactNode } from 'react';

export function Disclosure({ summary, attention, children, className }: { summary: ReactNode; attention: boolean; children: ReactNode; className?: string }) {
  const [open, setOpen] = useState(attention);
  // Opened in the same render as the error appears, so the form can focus the field inside.
  const [seen, setSeen] = useState(attention);
  if (attention !== seen) {
    setSeen(attention);
    if (attention) setOpen(true);
  }
  return (
    <details className={`disclosure${className ? ` ${className}` : ''}`} open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{summary}</summary>
      <div className="disclosure-body">{children}</div>
    </details>
  );
}
