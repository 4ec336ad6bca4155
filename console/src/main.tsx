import '@xyflow/react/dist/style.css';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import type { Info } from './api.js';
import { useApi } from './components.js';
import { AccessView } from './views/access.js';
import { AlertsView } from './views/alerts.js';
import { MappingsView } from './views/mappings.js';
import { RequestView } from './views/request.js';
import { SearchView } from './views/search.js';

const NAV = [
  ['/search', 'Search'],
  ['/request', 'Request'],
  ['/mappings', 'Mappings'],
  ['/access', 'Access at T'],
  ['/alerts', 'Alerts and posture'],
] as const;

const App = () => {
  const [location] = useLocation();
  const { data: info } = useApi<Info>('/api/info', {});
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">eks-trail console</span>
        <nav aria-label="Views">
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <Link href={path} aria-current={location === path ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        {info && (
          <span className="source" title={info.source}>
            {info.mode}: {info.source}
          </span>
        )}
      </header>
      <main id="main">
        <Switch>
          <Route path="/">
            <Redirect to="/search" replace />
          </Route>
          <Route path="/search">
            <SearchView info={info} />
          </Route>
          <Route path="/request">
            <RequestView />
          </Route>
          <Route path="/mappings">
            <MappingsView />
          </Route>
          <Route path="/access">
            <AccessView />
          </Route>
          <Route path="/alerts">
            <AlertsView info={info} />
          </Route>
          <Route>
            <p>No such view.</p>
          </Route>
        </Switch>
      </main>
    </>
  );
};

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
