// The signed-in key. It lives in memory and in sessionStorage (this tab only, gone when the tab
// closes), never in a URL or a cookie. Signing in checks the key with GET /v1/me, which also
// says the key's role, so pages offer only what it may do.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { client, setApiKey, unwrap, type Me } from '../api/client';
import { useQueryClient } from '@tanstack/react-query';

const STORAGE_KEY = 'sundial.apiKey';

export interface Session {
  me: Me | null;
  /** True while a stored key is being checked at page load. */
  restoring: boolean;
  signIn(key: string): Promise<void>;
  signOut(): void;
  /** The key may create, change and run tasks (operator or admin). */
  canOperate: boolean;
  isAdmin: boolean;
}

const SessionContext = createContext<Session | null>(null);

async function whoAmI(key: string): Promise<Me> {
  setApiKey(key);
  return unwrap(await client.GET('/v1/me'));
}

/** Provides the session to the app. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [me, setMe] = useState<Me | null>(null);
  const [restoring, setRestoring] = useState(() => sessionStorage.getItem(STORAGE_KEY) !== null);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setApiKey(null);
    setMe(null);
    queryClient.clear();
  }, [queryClient]);

  const signIn = useCallback(
    async (key: string) => {
      try {
        const who = await whoAmI(key);
        setApiKey(key, signOut);
        sessionStorage.setItem(STORAGE_KEY, key);
        setMe(who);
      } catch (err) {
        setApiKey(null);
        throw err;
      }
    },
    [signOut],
  );

  useEffect(() => {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    if (stored === null) return;
    signIn(stored)
      .catch(() => sessionStorage.removeItem(STORAGE_KEY))
      .finally(() => setRestoring(false));
  }, [signIn]);

  const value = useMemo<Session>(
    () => ({ me, restoring, signIn, signOut, canOperate: me?.role === 'operator' || me?.role === 'admin', isAdmin: me?.role === 'admin' }),
    [me, restoring, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The current session (inside SessionProvider). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('useSession outside SessionProvider');
  return s;
}
