// The channels as a table: what each sends to, whether a secret is set (never the secret), and
// for operators Edit, Send test and Delete (asked in a dialog first).

import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { DeleteButton, Time } from '../../components/ui';
import { channelKeys, deleteChannel, type Channel } from './api';
import { TestButton } from './TestButton';

/** Where the deliveries page of `c` is. */
export function deliveriesPath(c: Pick<Channel, 'namespace' | 'name'>): string {
  return `/channels/${encodeURIComponent(c.namespace)}/${encodeURIComponent(c.name)}`;
}

export function ChannelTable({ channels, canOperate, showNamespace, onEdit }: { channels: Channel[]; canOperate: boolean; showNamespace: boolean; onEdit: (c: Channel) => void }) {
  return (
    <div className="table-wrap">
      <table className="channel-table">
        <caption className="visually-hidden">Notification channels</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {showNamespace && <th scope="col">Namespace</th>}
            <th scope="col">Type</th>
            <th scope="col">Sends to</th>
            <th scope="col">Secret</th>
            <th scope="col">Changed</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {channels.map((c) => (
            <ChannelRow key={c.id} channel={c} canOperate={canOperate} showNamespace={showNamespace} onEdit={onEdit} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ChannelRow({ channel: c, canOperate, showNamespace, onEdit }: { channel: Channel; canOperate: boolean; showNamespace: boolean; onEdit: (c: Channel) => void }) {
  const queryClient = useQueryClient();
  return (
    <tr>
      <th scope="row">
        <Link to={deliveriesPath(c)}>{c.name}</Link>
      </th>
      {showNamespace && <td>{c.namespace}</td>}
      <td>{c.type}</td>
      <td className="channel-target">
        <code>{(c.type === 'email' ? c.to : c.url) ?? '—'}</code>
      </td>
      <td>{c.type !== 'webhook' ? <span className="muted">—</span> : c.secretSet ? 'set' : <span className="warn-text">not set</span>}</td>
      <td>
        <Time iso={c.updatedAt} />
      </td>
      <td className="row-actions">
        <Link to={deliveriesPath(c)} className="button">
          Deliveries<span className="visually-hidden"> of {c.name}</span>
        </Link>
        {canOperate && (
          <>
            {' '}
            <TestButton channel={c} />{' '}
            <button type="button" onClick={() => onEdit(c)}>
              Edit<span className="visually-hidden"> {c.name}</span>
            </button>{' '}
            <DeleteButton
              name={c.name}
              what="channel"
              message="Its pending notifications die at their next turn. Tasks that name it keep their rules until their next change, which refuses them."
              onDelete={async () => {
                await deleteChannel(c);
                await queryClient.invalidateQueries({ queryKey: channelKeys.all });
              }}
            />
          </>
        )}
      </td>
    </tr>
  );
}
