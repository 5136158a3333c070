// /api-keys (admin keys): the keys, a form for a new one (its secret shown once, in memory
// only: a reload forgets it) and revocation.

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, Pager, useCursorPager } from '../components/ui';
import { listApiKeys, type CreatedApiKey } from './admin/api';
import { ApiKeyForm } from './admin/ApiKeyForm';
import { ApiKeyTable } from './admin/ApiKeyTable';
import { SecretBox } from './admin/SecretBox';
import './Runs.css';

export function ApiKeys() {
  const { me } = useSession();
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const pager = useCursorPager('');
  const keys = useQuery({
    queryKey: ['api-keys', 'list', pager.cursor ?? null],
    queryFn: () => listApiKeys(pager.cursor),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageHeader title="API keys" subtitle="Who may use the API, with which role and in which namespaces." />
      {created !== null && <SecretBox created={created} onDone={() => setCreated(null)} />}
      <section className="panel">
        <ApiKeyForm onCreated={setCreated} />
      </section>
      <ErrorMessage error={keys.error} />
      {keys.data === undefined ? (
        !keys.isError && <Loading what="Loading keys" />
      ) : (
        <div className={keys.isPlaceholderData ? 'stale' : undefined}>
          <ApiKeyTable keys={keys.data.items} actor={me?.actor} />
        </div>
      )}
      <Pager page={pager.page} nextCursor={keys.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={keys.isPlaceholderData} />
    </>
  );
}
