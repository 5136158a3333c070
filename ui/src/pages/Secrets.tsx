// /secrets: the secrets of the key's namespaces (names and versions, never values); operators
// also get the form (a new secret, or a new value for the one picked) and Delete.

import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useSession } from '../auth/session';
import { DeleteButton, ErrorMessage, Loading, PageHeader, Pager, Time, useCursorPager } from '../components/ui';
import { deleteSecret, listSecrets, secretKeys, type Secret } from './secrets/api';
import { SecretForm } from './secrets/SecretForm';
import './Runs.css';

/** The namespace a new secret goes to: the key's only one, else `default`. */
function homeNamespace(namespaces: readonly string[]): string {
  if (namespaces.length === 1 && namespaces[0] !== '*') return namespaces[0]!;
  return namespaces.includes('*') || namespaces.includes('default') ? 'default' : (namespaces[0] ?? 'default');
}

export function Secrets() {
  const { me, canOperate } = useSession();
  const queryClient = useQueryClient();
  const namespaces = me?.namespaces ?? [];
  const several = namespaces.includes('*') || namespaces.length > 1;
  const [editing, setEditing] = useState<Secret | null>(null);
  const [saved, setSaved] = useState<Secret | null>(null);
  const pager = useCursorPager('');
  const list = useQuery({ queryKey: secretKeys.list(pager.cursor), queryFn: () => listSecrets(pager.cursor), placeholderData: keepPreviousData });
  return (
    <>
      <PageHeader title="Secrets" subtitle="Values tasks use without holding them; encrypted at rest, masked in run output, never shown again." />
      {canOperate && (
        <section className="panel">
          <SecretForm
            key={editing === null ? 'new' : `${editing.namespace}/${editing.name}`}
            editing={editing}
            namespace={homeNamespace(namespaces)}
            pickNamespace={several}
            onSaved={(s) => {
              setSaved(s);
              setEditing(null);
            }}
            onCancel={() => setEditing(null)}
          />
        </section>
      )}
      <p role="status" className="muted">
        {saved !== null && `Saved ${saved.name} (version ${saved.version}).`}
      </p>
      <ErrorMessage error={list.error} />
      {list.data === undefined ? (
        !list.isError && <Loading what="Loading secrets" />
      ) : list.data.items.length === 0 ? (
        <p className="empty-state">No secrets yet.</p>
      ) : (
        <div className={`table-wrap${list.isPlaceholderData ? ' stale' : ''}`}>
          <table>
            <caption className="visually-hidden">Secrets</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                {several && <th scope="col">Namespace</th>}
                <th scope="col">Version</th>
                <th scope="col">Changed</th>
                <th scope="col">By</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((s) => (
                <tr key={`${s.namespace}/${s.name}`}>
                  <th scope="row">
                    <code>{s.name}</code>
                  </th>
                  {several && <td>{s.namespace}</td>}
                  <td>{s.version}</td>
                  <td>
                    <Time iso={s.updatedAt} />
                  </td>
                  <td className="muted">{s.updatedBy}</td>
                  <td className="row-actions">
                    {canOperate && (
                      <>
                        <button
                          type="button"
                          onClick={() => {
                            setEditing(s);
                            window.scrollTo({ top: 0 });
                          }}
                        >
                          New value<span className="visually-hidden"> for {s.name}</span>
                        </button>{' '}
                        <DeleteButton
                          name={s.name}
                          what="secret"
                          message="Tasks that reference it keep the reference; their runs fail secret_missing until it is set again."
                          onDelete={async () => {
                            await deleteSecret(s);
                            if (editing?.name === s.name && editing.namespace === s.namespace) setEditing(null);
                            await queryClient.invalidateQueries({ queryKey: secretKeys.all });
                          }}
                        />
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={pager.page} nextCursor={list.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={list.isPlaceholderData} />
    </>
  );
}
