// The API keys as a table, each live key with its Revoke button (asked in a dialog first); when
// a key expires (or its rotation's grace period ends) and where it was last used from.

import { useQueryClient } from '@tanstack/react-query';
import { ConfirmButton, StatusBadge, Time } from '../../components/ui';
import { revokeApiKey, type ApiKey } from './api';

/** The table; `actor` is the signed-in key (`key:<id>`), which cannot revoke itself here. */
export function ApiKeyTable({ keys, actor }: { keys: ApiKey[]; actor: string | undefined }) {
  return (
    <div className="table-wrap">
      <table className="key-table">
        <caption className="visually-hidden">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Namespaces</th>
            <th scope="col">Prefix</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <KeyRow key={k.id} apiKey={k} self={actor === `key:${k.id}`} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function KeyRow({ apiKey: k, self }: { apiKey: ApiKey; self: boolean }) {
  const queryClient = useQueryClient();
  // Compared with this browser's clock, good enough for a label; the server decides.
  const expired = k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now();
  return (
    <tr className={k.revokedAt !== null || expired ? 'revoked' : undefined}>
      <th scope="row">
        {k.name}
        {self && <span className="tag">this session</span>}
      </th>
      <td>{k.role}</td>
      <td>{k.role === 'admin' ? <span className="muted">all</span> : k.namespaces.join(', ')}</td>
      <td>
        {k.prefix === '' ? <span className="muted">—</span> : <code>{k.prefix}…</code>}
      </td>
      <td>
        <Time iso={k.createdAt} />
      </td>
      <td>
        {k.lastUsedAt === null ? (
          <span className="muted">never</span>
        ) : (
          <>
            <Time iso={k.lastUsedAt} />
            {k.lastUsedFrom !== null && <span className="muted"> from {k.lastUsedFrom}</span>}
          </>
        )}
      </td>
      <td>{k.expiresAt === null ? <span className="muted">never</span> : <Time iso={k.expiresAt} />}</td>
      <td>
        {k.revokedAt === null ? (
          <>
            <StatusBadge status={expired ? 'expired' : 'active'} />
            {k.replacedBy !== null && <span className="tag">rotated</span>}
          </>
        ) : (
          <>
            <StatusBadge status="revoked" /> <Time iso={k.revokedAt} />
          </>
        )}
      </td>
      <td className="row-actions">
        {k.revokedAt === null && !self && (
          <ConfirmButton
            danger
            title={`Revoke “${k.name}”?`}
            message="Anything using this key is refused from now on (within a second on other nodes). A revoked key cannot be restored."
            confirmLabel="Revoke key"
            onConfirm={async () => {
              await revokeApiKey(k.id);
              await queryClient.invalidateQueries({ queryKey: ['api-keys'] });
            }}
          >
            Revoke<span className="visually-hidden"> {k.name}</span>
          </ConfirmButton>
        )}
      </td>
    </tr>
  );
}
