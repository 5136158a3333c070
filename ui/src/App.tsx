// Routes. Every URL is a real page: the server answers any of them with index.html, so a
// reload or a shared link lands where it points. Admin pages exist only for admin keys.

import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { useSession } from './auth/session';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { Alerts } from './pages/Alerts';
import { ApiKeys } from './pages/ApiKeys';
import { AuditLog } from './pages/AuditLog';
import { ChannelDeliveries } from './pages/ChannelDeliveries';
import { Channels } from './pages/Channels';
import { Secrets } from './pages/Secrets';
import { Nodes } from './pages/Nodes';
import { NotFound } from './pages/NotFound';
import { Overview } from './pages/Overview';
import { RunDetail } from './pages/RunDetail';
import { RunList } from './pages/RunList';
import { SignIn } from './pages/SignIn';
import { TaskDetail } from './pages/TaskDetail';
import { TaskList } from './pages/TaskList';

// The editor pulls in CodeMirror; it loads when someone creates or edits a task.
const TaskEditor = lazy(() => import('./pages/TaskEditor'));

export function App() {
  const { me, restoring, isAdmin, canOperate } = useSession();
  if (restoring) return <Loading what="Signing in" />;
  if (me === null) return <SignIn />;
  const editor = (
    <Suspense fallback={<Loading what="Loading the editor" />}>
      <TaskEditor />
    </Suspense>
  );
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Overview />} />
        <Route path="tasks" element={<TaskList />} />
        <Route path="tasks/new" element={canOperate ? editor : <Navigate to="/tasks" replace />} />
        <Route path="tasks/:id" element={<TaskDetail />} />
        <Route path="tasks/:id/edit" element={canOperate ? editor : <Navigate to=".." relative="path" replace />} />
        <Route path="runs" element={<RunList />} />
        <Route path="runs/:id" element={<RunDetail />} />
        <Route path="alerts" element={<Alerts />} />
        <Route path="channels" element={<Channels />} />
        <Route path="channels/:namespace/:name" element={<ChannelDeliveries />} />
        <Route path="secrets" element={<Secrets />} />
        {isAdmin && <Route path="nodes" element={<Nodes />} />}
        {isAdmin && <Route path="audit" element={<AuditLog />} />}
        {isAdmin && <Route path="api-keys" element={<ApiKeys />} />}
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
