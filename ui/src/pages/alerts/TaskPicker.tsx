// A task name typed with suggestions from /v1/tasks (the tasks of the rule's namespace whose name
// or description holds what is typed, 50 at most): a datalist, so a name is never blocked (a
// rule may name a task that is yet to be created; it never fires until then).

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { client, unwrap } from '../../api/client';
import { Field } from '../../components/ui';

function useTaskNames(namespace: string, typed: string) {
  const q = typed.trim();
  return useQuery({
    queryKey: ['tasks', 'names', namespace, q],
    queryFn: async ({ signal }) => {
      const query = { namespace, limit: 50, sort: 'name' as const, ...(q !== '' && { q }) };
      return (await unwrap(await client.GET('/v1/tasks', { params: { query }, signal }))).items.map((t) => t.name);
    },
    enabled: namespace.trim() !== '',
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

export function TaskPicker({
  label,
  hint,
  namespace,
  value,
  onChange,
  errors,
}: {
  label: string;
  hint: string;
  namespace: string;
  value: string;
  onChange: (v: string) => void;
  errors: string[] | undefined;
}) {
  const names = useTaskNames(namespace, value);
  return (
    <Field label={label} hint={`${hint} Tasks of namespace ${namespace || '—'}.`} errors={errors}>
      {(ids) => (
        <>
          <input {...ids} className="mono" list={`${ids.id}-tasks`} autoComplete="off" spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)} />
          <datalist id={`${ids.id}-tasks`}>
            {(names.data ?? []).map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </>
      )}
    </Field>
  );
}
