// The frame around every signed-in page: navigation (admin pages only for admins), the live
// indicator, who is signed in, and sign-out.

import { NavLink, Outlet } from 'react-router';
import { useSession } from '../auth/session';
import { useLiveConnected } from '../live/live-events';

export function Layout() {
  const { me, isAdmin, signOut } = useSession();
  const live = useLiveConnected();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-dot" aria-hidden="true" /> Sundial
        </div>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/tasks">Tasks</NavLink>
          <NavLink to="/runs">Runs</NavLink>
          <NavLink to="/alerts">Alerts</NavLink>
          <NavLink to="/channels">Channels</NavLink>
          <NavLink to="/secrets">Secrets</NavLink>
          {isAdmin && <NavLink to="/nodes">Nodes</NavLink>}
          {isAdmin && <NavLink to="/audit">Audit log</NavLink>}
          {isAdmin && <NavLink to="/api-keys">API keys</NavLink>}
        </nav>
        <div className="who">
          <div>
            <span className={`live-dot${live ? ' on' : ''}`} aria-hidden="true" />
            {live ? 'Live' : 'Connecting…'}
          </div>
          <div>
            Role: <strong>{me?.role}</strong>
          </div>
          <div title={me?.actor}>Namespaces: {me?.namespaces.join(', ')}</div>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
