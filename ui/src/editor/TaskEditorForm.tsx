// The task form: create (POST /v1/tasks) or change (PATCH with If-Match) a task. What the user
// typed is never thrown away by an error: the API's field messages go next to their inputs
// (the first one gets focus), the rest and the problem's detail to a summary at the top.

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { client, unwrap, type Task } from '../api/client';
import { ApiError, type FieldProblem } from '../api/problem';
import { useSession } from '../auth/session';
import { Field } from '../components/ui';
import { buildCreate, buildPatch, jsonProblem } from './build';
import { ConflictNotice, SaveSummary, type SaveFailure } from './SaveSummary';
import {
  COMMON_POINTERS,
  groupProblems,
  NOTIFY_POINTER,
  HTTP_POINTERS,
  MODULE_POINTERS,
  POLICY_POINTERS,
  SCHEDULE_POINTERS,
  SCRIPT_POINTERS,
  SHELL_POINTERS,
  targetPointer,
} from './field-map';
import { HttpFields } from './HttpFields';
import type { Kind, TaskForm } from './model';
import { ModuleFields } from './ModuleFields';
import { NotifyRules } from './NotifyRules';
import { PoliciesFields } from './PoliciesFields';
import { ScheduleBuilder } from './ScheduleBuilder';
import { ScriptFields } from './ScriptFields';
import { Segmented } from './Segmented';
import { ShellFields } from './ShellFields';

export type EditorMode = { type: 'create' } | { type: 'edit'; task: Task; reloadLatest: () => void };

const KINDS: { value: Kind; label: string; about: string }[] = [
  { value: 'http', label: 'HTTP request', about: 'Calls a URL.' },
  { value: 'module', label: 'Module', about: 'Calls a function of a JavaScript file installed on the server.' },
  { value: 'script', label: 'Script', about: 'Runs inline JavaScript in a sandbox.' },
  { value: 'shell', label: 'Shell command', about: 'Runs a command on the server (admins only).' },
];

type Section = 'http' | 'module' | 'script' | 'shell' | 'schedule' | 'policies';
const SECTION_POINTERS: Record<Section, Record<string, string>> = {
  http: HTTP_POINTERS,
  module: MODULE_POINTERS,
  script: SCRIPT_POINTERS,
  shell: SHELL_POINTERS,
  schedule: SCHEDULE_POINTERS,
  policies: POLICY_POINTERS,
};

/** The namespace a new task goes to by default: the key's only one, else `default` if covered. */
function homeNamespace(namespaces: readonly string[]): string {
  if (namespaces.length === 1 && namespaces[0] !== '*') return namespaces[0]!;
  if (namespaces.includes('*') || namespaces.includes('default')) return 'default';
  return namespaces[0] ?? 'default';
}

export function TaskEditorForm({ mode, initial }: { mode: EditorMode; initial: TaskForm }) {
  const { me, isAdmin } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const namespaces = me?.namespaces ?? [];
  const pickNamespace = mode.type === 'create' && (namespaces.includes('*') || namespaces.length > 1);

  const [form, setForm] = useState<TaskForm>(() =>
    mode.type === 'create' && initial.namespace === '' ? { ...initial, namespace: homeNamespace(namespaces) } : initial,
  );
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [failure, setFailure] = useState<SaveFailure | null>(null);
  const [conflict, setConflict] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [focusTick, setFocusTick] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const summaryRef = useRef<HTMLDivElement>(null);
  const conflictRef = useRef<HTMLDivElement>(null);

  const grouped = useMemo(() => groupProblems(problems, form.kind), [problems, form.kind]);
  const errors = (pointer: string): string[] | undefined => grouped.fields[pointer];

  // After a refused save: the first marked input (in page order) gets focus, else the summary.
  useEffect(() => {
    if (focusTick === 0) return;
    const bad = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    (bad ?? summaryRef.current)?.focus();
  }, [focusTick]);

  /** Drops the messages of inputs that just changed: they were about the old value. */
  const clear = (pointers: readonly string[]): void => {
    setProblems((ps) => {
      const next = ps.filter((p) => {
        const t = targetPointer(p.path, form.kind);
        return t === null || !pointers.some((q) => t === q || t.startsWith(`${q}/`));
      });
      return next.length === ps.length ? ps : next;
    });
  };
  const setTop = <K extends 'name' | 'namespace' | 'description' | 'payload'>(k: K, v: TaskForm[K]): void => {
    setForm((f) => ({ ...f, [k]: v }));
    clear([COMMON_POINTERS[k]]);
  };
  const section =
    <S extends Section>(s: S) =>
    (patch: Partial<TaskForm[S]>): void => {
      setForm((f) => ({ ...f, [s]: { ...f[s], ...patch } }));
      const changed = Object.keys(patch).map((k) => SECTION_POINTERS[s][k]!);
      // A new schedule type makes every message about the old one moot.
      clear(s === 'schedule' && 'type' in patch ? ['/schedule'] : changed);
    };
  const setKind = (kind: Kind): void => {
    setForm((f) => ({ ...f, kind }));
    clear(['/kind', '/spec']);
  };

  // A version conflict is announced where the choices are.
  useEffect(() => {
    if (conflict !== null) conflictRef.current?.focus();
  }, [conflict]);

  async function save(version?: number): Promise<void> {
    const created = mode.type === 'create' ? buildCreate(form, pickNamespace) : null;
    const patched = mode.type === 'edit' ? buildPatch(initial, form) : null;
    const clientErrors = created?.errors ?? patched?.errors ?? [];
    setConflict(null);
    if (clientErrors.length > 0) {
      setProblems(clientErrors);
      setFailure({ kind: 'client', count: clientErrors.length });
      setFocusTick((n) => n + 1);
      return;
    }
    setBusy(true);
    try {
      let saved: Task;
      if (created !== null) {
        saved = unwrap(await client.POST('/v1/tasks', { body: created.body }));
      } else if (patched !== null && mode.type === 'edit') {
        if (Object.keys(patched.body).length === 0) {
          navigate(`/tasks/${mode.task.id}`);
          return;
        }
        saved = unwrap(
          await client.PATCH('/v1/tasks/{idOrName}', {
            params: { path: { idOrName: mode.task.id } },
            body: patched.body,
            headers: { 'If-Match': `"${version ?? mode.task.version}"` },
          }),
        );
      } else return;
      // Every cached list and detail may show this task: all become stale and refetch when next
      // shown (not now, while this page's own queries are still mounted).
      void queryClient.invalidateQueries({ refetchType: 'none' });
      navigate(`/tasks/${saved.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.problem.code === 'version_mismatch') {
        const current = err.problem.currentVersion;
        setConflict(typeof current === 'number' ? current : (version ?? (mode.type === 'edit' ? mode.task.version : 0)) + 1);
        setFailure(null);
        setProblems([]);
      } else {
        setProblems(err instanceof ApiError ? (err.problem.errors ?? []) : []);
        setFailure({ kind: 'api', error: err });
        setFocusTick((n) => n + 1);
      }
    } finally {
      setBusy(false);
    }
  }

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void save();
  };
  const kinds = KINDS.filter((k) => k.value !== 'shell' || isAdmin || initial.kind === 'shell');
  const kindInfo = KINDS.find((k) => k.value === form.kind)!;
  const cancelTo = mode.type === 'edit' ? `/tasks/${mode.task.id}` : '/tasks';

  return (
    <form ref={formRef} className="task-form" noValidate onSubmit={submit} aria-busy={busy}>
      {failure && <SaveSummary ref={summaryRef} failure={failure} rest={grouped.rest} />}
      {conflict !== null && mode.type === 'edit' && (
        <ConflictNotice
          ref={conflictRef}
          yours={mode.task.version}
          current={conflict}
          busy={busy}
          onOverwrite={() => void save(conflict)}
          onReload={mode.reloadLatest}
        />
      )}

      <section className="panel" aria-labelledby="task-section-about">
        <h2 id="task-section-about">Task</h2>
        <div className="form-row">
          <Field label="Name" hint="Unique in its namespace: letters, digits and . _ : -" errors={errors(COMMON_POINTERS.name)}>
            {(ids) => (
              <input {...ids} className="mono" autoComplete="off" spellCheck={false} value={form.name} onChange={(e) => setTop('name', e.target.value)} />
            )}
          </Field>
          {pickNamespace && <NamespaceField value={form.namespace} onChange={(v) => setTop('namespace', v)} options={namespaces} errors={errors(COMMON_POINTERS.namespace)} />}
        </div>
        <Field label="Description (optional)" errors={errors(COMMON_POINTERS.description)}>
          {(ids) => <textarea {...ids} rows={2} value={form.description} onChange={(e) => setTop('description', e.target.value)} />}
        </Field>
      </section>

      <section className="panel" aria-labelledby="task-section-kind">
        <h2 id="task-section-kind">What it runs</h2>
        <Segmented legend="Kind" options={kinds} value={form.kind} onChange={setKind} errors={errors(COMMON_POINTERS.kind)} />
        <p className="muted kind-about">{kindInfo.about}</p>
        {form.kind === 'http' && <HttpFields value={form.http} onChange={section('http')} errors={errors} />}
        {form.kind === 'module' && <ModuleFields value={form.module} onChange={section('module')} errors={errors} />}
        {form.kind === 'script' && <ScriptFields value={form.script} onChange={section('script')} errors={errors} />}
        {form.kind === 'shell' && <ShellFields value={form.shell} onChange={section('shell')} errors={errors} />}
      </section>

      <section className="panel" aria-labelledby="task-section-schedule">
        <h2 id="task-section-schedule">Schedule</h2>
        <ScheduleBuilder value={form.schedule} onChange={section('schedule')} errors={errors} />
      </section>

      <section className="panel" aria-labelledby="task-section-policies">
        <h2 id="task-section-policies">Policies</h2>
        <PoliciesFields value={form.policies} onChange={section('policies')} errors={errors} />
      </section>

      <section className="panel" aria-labelledby="task-section-notify">
        <h2 id="task-section-notify">Notifications</h2>
        <NotifyRules
          rules={form.policies.notify}
          onChange={(notify) => section('policies')({ notify })}
          errors={errors(NOTIFY_POINTER)}
          namespace={mode.type === 'edit' ? mode.task.namespace : form.namespace}
        />
      </section>

      <section className="panel" aria-labelledby="task-section-payload">
        <h2 id="task-section-payload">Payload</h2>
        <Field
          label="Default payload (JSON, optional)"
          hint="Handed to every run (ctx.payload; stdin for shell tasks). A manual run may override it."
          errors={errors(COMMON_POINTERS.payload)}
        >
          {(ids) => (
            <textarea
              {...ids}
              className="mono"
              rows={4}
              spellCheck={false}
              placeholder='{ "format": "pdf" }'
              value={form.payload}
              onChange={(e) => setTop('payload', e.target.value)}
              onBlur={() => {
                const problem = form.payload.trim() === '' ? null : jsonProblem(form.payload, 'The payload');
                if (problem !== null) setProblems((ps) => [...ps.filter((p) => p.path !== '/payload'), { path: '/payload', message: problem }]);
              }}
            />
          )}
        </Field>
      </section>

      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : mode.type === 'create' ? 'Create task' : 'Save changes'}
        </button>
        <Link to={cancelTo} className="button">
          Cancel
        </Link>
      </div>
    </form>
  );
}

function NamespaceField({ value, onChange, options, errors }: { value: string; onChange: (v: string) => void; options: readonly string[]; errors: string[] | undefined }) {
  const listed = options.filter((n) => n !== '*');
  return (
    <Field label="Namespace" hint={options.includes('*') ? 'Any namespace; it is created with the task.' : `One of: ${listed.join(', ')}`} errors={errors}>
      {(ids) => (
        <>
          <input {...ids} className="mono" list={`${ids.id}-list`} autoComplete="off" spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)} />
          <datalist id={`${ids.id}-list`}>
            {listed.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </>
      )}
    </Field>
  );
}
