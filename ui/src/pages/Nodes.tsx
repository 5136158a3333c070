// /nodes (admin keys): the cluster's nodes, whether each is up, what it does and how busy it is.
// No event tells of nodes, so the list is read again every 5 s while the tab is visible (and,
// like every page, whenever the event stream reconnects).

import { useQuery } from '@tanstack/react-query';
import { ErrorMessage, Loading, PageHeader } from '../components/ui';
import { countNodes, NODES_REFRESH_MS, nodeSummary, nodesQuery } from './admin/api';
import { NodeTable } from './admin/NodeTable';
import './Runs.css';

export function Nodes() {
  const nodes = useQuery(nodesQuery());
  const items = nodes.data?.items;
  return (
    <>
      <PageHeader
        title="Nodes"
        subtitle={`Every node seen in the last hour, read again every ${NODES_REFRESH_MS / 1000} seconds.${items === undefined ? '' : ` Now ${nodeSummary(countNodes(items))}.`}`}
      />
      <ErrorMessage error={nodes.error} />
      {items === undefined ? (
        !nodes.isError && <Loading what="Loading nodes" />
      ) : items.length === 0 ? (
        <p className="empty-state">No node has sent a heartbeat in the last hour.</p>
      ) : (
        <NodeTable nodes={items} />
      )}
    </>
  );
}
