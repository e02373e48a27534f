import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, RequestFailed, setCsrfToken } from './api.ts';
import { AdminPage } from './pages/admin.tsx';
import { AuditPage } from './pages/audit.tsx';
import { ExecutionPage, ExecutionsPage } from './pages/executions.tsx';
import { InboxPage } from './pages/inbox.tsx';
import { PlanPage } from './pages/plan.tsx';
import { PlansPage } from './pages/plans.tsx';
import { ProfilePage } from './pages/profile.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import type { Session } from './types.ts';

/** Hash routes (`#/plans/<id>`): the server serves one page, and no route needs a server change. */
function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => {
    const [path = '/', query = ''] = (location.hash.slice(1) || '/').split('?');
    return { path, query: new URLSearchParams(query) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const NAV = [
  ['#/', 'Inbox'],
  ['#/plans', 'Plans'],
  ['#/executions', 'Executions'],
  ['#/audit', 'Audit'],
  ['#/admin', 'Admin'],
  ['#/profile', 'Profile'],
] as const;

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const main = useRef<HTMLElement>(null);

  const load = () =>
    api
      .get<Session>('/console/api/session')
      .then((s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
      })
      .catch((err) => {
        if (err instanceof RequestFailed && err.error.status === 401) setSession(null);
        else setSession(null);
      });
  useEffect(() => {
    void load();
  }, []);
  // A new page moves focus to its heading, so keyboard and screen-reader users start there.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.path, session]);

  if (session === undefined) return <p class="loading">Loading…</p>;
  const signOut = async () => {
    await api.post('/console/auth/sign-out').catch(() => undefined);
    setSession(null);
    location.hash = '#/sign-in';
  };
  const current = (href: string) => (href === '#/' ? route.path === '/' : `#${route.path}`.startsWith(href));

  return (
    <>
      <button type="button" class="skip" onClick={() => main.current?.querySelector<HTMLElement>('h1')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Countersign</span>
        {session && (
          <nav aria-label="Main">
            <ul>
              {NAV.map(([href, label]) => (
                <li key={href}>
                  <a href={href} aria-current={current(href) ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {session && (
          <div class="who">
            <span>
              Signed in as <strong>{session.name}</strong>
            </span>
            <button type="button" class="link" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" ref={main}>
        {session ? <Page path={route.path} query={route.query} session={session} /> : <SignInPage query={route.query} onSignedIn={load} />}
      </main>
    </>
  );
}

function Page({ path, query, session }: { path: string; query: URLSearchParams; session: Session }) {
  const parts = path.split('/').filter(Boolean);
  // Keyed by id: another plan is a fresh page, with none of the last one's messages.
  if (parts[0] === 'plans' && parts[1]) return <PlanPage key={parts[1]} id={decodeURIComponent(parts[1])} session={session} />;
  if (parts[0] === 'plans') return <PlansPage query={query} />;
  if (parts[0] === 'executions' && parts[1]) return <ExecutionPage key={parts[1]} id={decodeURIComponent(parts[1])} />;
  if (parts[0] === 'executions') return <ExecutionsPage />;
  if (parts[0] === 'audit') return <AuditPage query={query} />;
  if (parts[0] === 'admin') return <AdminPage />;
  if (parts[0] === 'profile') return <ProfilePage session={session} />;
  return <InboxPage query={query} />;
}

render(<App />, document.getElementById('app') as HTMLElement);
