// A task's definition: who and what it is, what it runs, and what each run is given.

import type { Task } from '../../api/client';
import { StatusBadge, Time } from '../../components/ui';
import { Props } from './Props';
import { specRows } from './SpecView';

function Stamp({ at, by }: { at: string; by: string }) {
  return (
    <>
      <Time iso={at} /> <span className="muted">by</span> <code className="actor">{by}</code>
    </>
  );
}

/** The definition panel of the task detail. */
export function DefinitionPanel({ task }: { task: Task }) {
  const hasPayload = task.payload !== null && task.payload !== undefined;
  return (
    <section className="panel" aria-labelledby="definition-h">
      <h2 id="definition-h">Definition</h2>
      <Props
        rows={[
          ['Name', <code key="n">{task.name}</code>],
          ['Namespace', <code key="ns">{task.namespace}</code>],
          ['Description', task.description ?? <span className="muted">none</span>],
          ['Kind', <span key="k" className="kind">{task.kind}</span>],
          ...specRows(task),
          [
            'Payload',
            hasPayload ? (
              <pre key="p" className="block">
                {JSON.stringify(task.payload, null, 2)}
              </pre>
            ) : (
              <span className="muted">none</span>
            ),
          ],
          ['Status', <StatusBadge key="s" status={task.status} />],
          ['Version', String(task.version)],
          ['Created', <Stamp key="c" at={task.createdAt} by={task.createdBy} />],
          ['Updated', <Stamp key="u" at={task.updatedAt} by={task.updatedBy} />],
        ]}
      />
    </section>
  );
}
