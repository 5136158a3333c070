// "Send test": queues a run.test notification (POST …/test) and says what came of the request;
// the delivery itself shows in the channel's deliveries, which are refetched.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { errorText } from '../../api/problem';
import { testChannel, type Channel } from './api';

export function TestButton({ channel }: { channel: Pick<Channel, 'namespace' | 'name'> }) {
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: () => testChannel(channel),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['channels', 'deliveries', channel.namespace, channel.name] }),
  });
  return (
    <span className="test-button">
      <button type="button" disabled={mutation.isPending} onClick={() => mutation.mutate()}>
        Send test<span className="visually-hidden"> to {channel.name}</span>
      </button>
      <span role="status" aria-live="polite" className={mutation.isError ? 'test-result bad' : 'test-result'}>
        {mutation.isPending
          ? ' Queuing…'
          : mutation.isError
            ? ` Not sent: ${errorText(mutation.error)}`
            : mutation.isSuccess
              ? ` Test queued (${mutation.data.status})`
              : ''}
      </span>
    </span>
  );
}
