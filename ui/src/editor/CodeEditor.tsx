// A CodeMirror 6 JavaScript editor as a form control. Only ScriptFields imports it, lazily, so
// CodeMirror is a chunk of its own, fetched when a script is edited. Tab indents (what people
// expect in code); Esc then Tab leaves the editor, and Ctrl-M (Alt-Shift-M on macOS) turns Tab
// into focus movement for good, which the hint under the editor says.

import { indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';

/** The content element's accessibility attributes (it is a contenteditable, not an input). */
export interface CodeEditorAria {
  'aria-labelledby': string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}

function contentAttrs(aria: CodeEditorAria): Record<string, string> {
  const attrs: Record<string, string> = { 'aria-labelledby': aria['aria-labelledby'], 'aria-multiline': 'true' };
  if (aria['aria-describedby']) attrs['aria-describedby'] = aria['aria-describedby'];
  if (aria['aria-invalid']) attrs['aria-invalid'] = 'true';
  return attrs;
}

// CodeMirror's own dark rules (cursor, selection, tooltips, panels) when the dashboard is dark.
const dark = typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;

const theme = EditorView.theme(
  {
    '&': { minHeight: '12em', maxHeight: '32em', border: '1px solid var(--border)', borderRadius: '6px', background: 'var(--panel)', color: 'var(--text)' },
    '&.cm-focused': { outline: '3px solid var(--focus)', outlineOffset: '2px' },
    '.cm-scroller': { fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace", fontSize: '0.9em', lineHeight: '1.5' },
    '.cm-content': { minHeight: '12em' },
    '.cm-gutters': { background: 'var(--bg)', color: 'var(--muted)', borderRight: '1px solid var(--border)', borderRadius: '6px 0 0 6px' },
    '.cm-activeLine, .cm-activeLineGutter': { background: 'color-mix(in srgb, var(--accent) 7%, transparent)' },
  },
  { dark },
);

// Token colours from the dashboard's palette, so the code reads in light and dark mode alike
// (basicSetup's default style is for light backgrounds only and yields to this one).
const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.operatorKeyword, t.modifier], color: 'var(--accent-strong)', fontWeight: '600' },
  { tag: [t.string, t.special(t.string), t.regexp], color: 'var(--ok)' },
  { tag: [t.number, t.bool, t.null, t.atom], color: 'var(--info)' },
  { tag: [t.comment, t.lineComment, t.blockComment], color: 'var(--muted)', fontStyle: 'italic' },
  { tag: [t.propertyName, t.definition(t.propertyName)], color: 'var(--info)' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: 'var(--warn)' },
  { tag: t.invalid, color: 'var(--bad)' },
]);

export function CodeEditor({ value, onChange, aria }: { value: string; onChange: (code: string) => void; aria: CodeEditorAria }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const attrs = useRef(new Compartment());
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const initial = useRef({ value, aria });

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: initial.current.value,
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          javascript(),
          syntaxHighlighting(highlight),
          theme,
          attrs.current.of(EditorView.contentAttributes.of(contentAttrs(initial.current.aria))),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, []);

  // The label, hint and error ids change with the errors shown; the editor keeps its state.
  const describedBy = aria['aria-describedby'];
  const invalid = aria['aria-invalid'];
  const labelledBy = aria['aria-labelledby'];
  useEffect(() => {
    view.current?.dispatch({
      effects: attrs.current.reconfigure(
        EditorView.contentAttributes.of(contentAttrs({ 'aria-labelledby': labelledBy, 'aria-describedby': describedBy, 'aria-invalid': invalid })),
      ),
    });
  }, [labelledBy, describedBy, invalid]);

  // A value set from outside (not typed here) replaces the document.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  // Esc frees the next Tab even when CodeMirror uses the Esc itself (closing the completion
  // list): seen here, in the capture phase, before CodeMirror's own handlers.
  return (
    <div
      ref={host}
      className="code-editor"
      onKeyDownCapture={(e) => {
        if (e.key === 'Escape') view.current?.setTabFocusMode(2000);
      }}
    />
  );
}
