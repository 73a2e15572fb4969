import { useEffect, useState } from 'preact/hooks';
import { currentSession, setUnauthenticatedHandler } from '../api';
import { endSession, route, session, startSession, useTopics } from '../store';
import { AuditView, IncidentsView } from './Lists';
import { BlocksView } from './Blocks';
import { EndpointsView } from './Endpoints';
import { FloodsView } from './Floods';
import { Header, Nav } from './Header';
import { Login } from './Login';
import { PoliciesView } from './Policies';

export function App() {
  useTopics('session', 'route');
  const [checking, setChecking] = useState(true);
  useEffect(() => {
    setUnauthenticatedHandler(() => endSession());
    currentSession()
      .then((s) => startSession(s))
      .catch(() => {})
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="boot">Loading…</p>;
  if (!session) return <Login />;
  return (
    <div class="shell">
      <Header />
      <Nav />
      <main id="main" tabIndex={-1}>
        {route === 'floods' && <FloodsView />}
        {route === 'endpoints' && <EndpointsView />}
        {route === 'blocks' && <BlocksView />}
        {route === 'policies' && <PoliciesView />}
        {route === 'incidents' && <IncidentsView />}
        {route === 'audit' && <AuditView />}
      </main>
    </div>
  );
}
