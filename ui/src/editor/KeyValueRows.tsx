// Name/value rows (HTTP headers, environment variables): add, edit, remove, each input labelled
// with its row number. Messages about one name ("X-Token: …") mark that row.

import { useId, useRef, useState } from 'react';
import { newRow, type Row } from './model';
import { FieldErrors } from '../components/ui';

export function KeyValueRows({
  legend,
  item,
  rows,
  onChange,
  errors,
  hint,
  namePlaceholder,
  valuePlaceholder,
}: {
  legend: string;
  /** What one row is, for labels: "header", "variable". */
  item: string;
  rows: Row[];
  onChange: (rows: Row[]) => void;
  errors?: string[] | undefined;
  hint?: string;
  namePlaceholder?: string;
  valuePlaceholder?: string;
}) {
  const id = useId();
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const invalidRow = (r: Row, i: number): boolean => {
    if (!errors) return false;
    const named = errors.some((m) => r.name.trim() !== '' && m.startsWith(`${r.name.trim()}:`));
    const numbered = errors.some((m) => m.startsWith(`row ${i + 1}:`));
    return named || numbered;
  };
  const anyMarked = rows.some(invalidRow);
  // Keyboard users land in the row they added, and on "Add" after removing one.
  const [added, setAdded] = useState<number | null>(null);
  const addButton = useRef<HTMLButtonElement>(null);
  const update = (i: number, patch: Partial<Row>): void => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  return (
    <fieldset className={`kv-rows${errors ? ' field-invalid' : ''}`}>
      <legend>{legend}</legend>
      {rows.length === 0 && <p className="muted kv-empty">None.</p>}
      {rows.map((r, i) => {
        const bad = invalidRow(r, i) || (!anyMarked && errors !== undefined && i === 0);
        const described = [hint ? hintId : null, bad ? errId : null].filter(Boolean).join(' ') || undefined;
        return (
          <div className="kv-row" key={r.id}>
            <input
              aria-label={`${cap(item)} ${i + 1} name`}
              className="mono"
              placeholder={namePlaceholder}
              autoComplete="off"
              spellCheck={false}
              value={r.name}
              onChange={(e) => update(i, { name: e.target.value })}
              autoFocus={r.id === added}
              aria-invalid={bad || undefined}
              aria-describedby={described}
            />
            <input
              aria-label={`${cap(item)} ${i + 1} value`}
              placeholder={valuePlaceholder}
              autoComplete="off"
              spellCheck={false}
              value={r.value}
              onChange={(e) => update(i, { value: e.target.value })}
            />
            <button type="button" className="icon" aria-label={`Remove ${item} ${i + 1}`} title={`Remove ${item}`}
              onClick={() => {
                onChange(rows.filter((_, j) => j !== i));
                addButton.current?.focus();
              }}
            >
              ✕
            </button>
          </div>
        );
      })}
      <button
        type="button"
        ref={addButton}
        onClick={() => {
          const row = newRow();
          setAdded(row.id);
          onChange([...rows, row]);
        }}
      >
        + Add {item}
      </button>
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
      {errors && <FieldErrors id={errId} errors={errors} />}
    </fieldset>
  );
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
