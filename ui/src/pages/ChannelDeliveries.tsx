// /channels/:namespace/:name: one channel's deliveries, newest first, paged by the API's cursor,
// with Send test for operators. Pending deliveries change on their own (the deliverer retries
// them) and no event tells of it, so the page polls while one is pending, and only then.

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, Pager, useCursorPager } from '../components/ui';
import { channelKeys, listDeliveries } from './channels/api';
import { DeliveryTable } from './channels/DeliveryTable';
import { TestButton } from './channels/TestButton';
import './Runs.css';
import './Channels.css';

const PENDING_REFRESH_MS = 2_000;

export function ChannelDeliveries() {
  const { namespace = '', name = '' } = useParams();
  const { canOperate } = useSession();
  const pager = useCursorPager(`${namespace}/${name}`);
  const list = useQuery({
    queryKey: channelKeys.deliveries(namespace, name, pager.cursor),
    queryFn: () => listDeliveries(namespace, name, pager.cursor),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.items.some((d) => d.status === 'pending') ? PENDING_REFRESH_MS : false),
  });
  return (
    <>
      <PageHeader
        title={
          <>
            Deliveries of <span className="mono">{name}</span>
          </>
        }
        subtitle={
          <>
            Namespace {namespace} · newest first · <Link to="/channels">All channels</Link>
          </>
        }
        actions={canOperate ? <TestButton channel={{ namespace, name }} /> : undefined}
      />
      <ErrorMessage error={list.error} />
      {list.data === undefined ? (
        !list.isError && <Loading what="Loading deliveries" />
      ) : list.data.items.length === 0 ? (
        <p className="empty-state">Nothing sent through this channel yet.</p>
      ) : (
        <div className={list.isPlaceholderData ? 'stale' : undefined}>
          <DeliveryTable deliveries={list.data.items} />
        </div>
      )}
      <Pager page={pager.page} nextCursor={list.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={list.isPlaceholderData} />
    </>
  );
}
