// /channels: the notification channels the key's namespaces have; operators also get the form
// (create, or edit the one picked in the table), Send test and Delete.

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, Pager, useCursorPager } from '../components/ui';
import { channelKeys, listChannels, type Channel } from './channels/api';
import { ChannelForm } from './channels/ChannelForm';
import { ChannelTable } from './channels/ChannelTable';
import './Runs.css';
import './Channels.css';

/** The namespace a new channel goes to: the key's only one, else `default`. */
function homeNamespace(namespaces: readonly string[]): string {
  if (namespaces.length === 1 && namespaces[0] !== '*') return namespaces[0]!;
  return namespaces.includes('*') || namespaces.includes('default') ? 'default' : (namespaces[0] ?? 'default');
}

export function Channels() {
  const { me, canOperate } = useSession();
  const namespaces = me?.namespaces ?? [];
  const several = namespaces.includes('*') || namespaces.length > 1;
  const [editing, setEditing] = useState<Channel | null>(null);
  const pager = useCursorPager('');
  const list = useQuery({
    queryKey: channelKeys.list(undefined, pager.cursor),
    queryFn: () => listChannels(undefined, pager.cursor),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageHeader title="Channels" subtitle="Where notifications go: signed webhooks, Slack and e-mail. Tasks pick them in their notify rules." />
      {canOperate && (
        <section className="panel">
          {/* Keyed by the channel, so picking another one starts the form afresh. */}
          <ChannelForm
            key={editing?.id ?? 'new'}
            editing={editing}
            namespace={homeNamespace(namespaces)}
            pickNamespace={several}
            onDone={() => setEditing(null)}
          />
        </section>
      )}
      <ErrorMessage error={list.error} />
      {list.data === undefined ? (
        !list.isError && <Loading what="Loading channels" />
      ) : list.data.items.length === 0 ? (
        <p className="empty-state">No channels yet.</p>
      ) : (
        <div className={list.isPlaceholderData ? 'stale' : undefined}>
          <ChannelTable
            channels={list.data.items}
            canOperate={canOperate}
            showNamespace={several}
            onEdit={(c) => {
              setEditing(c);
              window.scrollTo({ top: 0 });
            }}
          />
        </div>
      )}
      <Pager page={pager.page} nextCursor={list.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={list.isPlaceholderData} />
    </>
  );
}
