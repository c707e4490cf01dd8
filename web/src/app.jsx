// The shell: the login screen until there is a session, then the navigation
// (a sidebar on wide screens, a top bar with a menu on phones), a skip link to
// the main content, the toasts, and the screen the route names. Each screen is
// loaded on first use (import()), so the first page stays small.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Spinner, Toasts } from './components/index.js';
import { onState, reset as resetEvents, subscribe } from './lib/events.js';
import { LOCALES, getLocale, setLocale, t, useLocale } from './lib/i18n.js';
import { Link, match, navigate, useRoute } from './lib/router.js';
import { useSession } from './lib/session.js';
import { toast } from './lib/toast.js';
import Login from './screens/login/index.jsx';

// path pattern -> screen module; nav: shown in the navigation (label key, permission).
export const ROUTES = [
  { path: '/inbox', load: () => import('./screens/inbox/index.jsx'), nav: 'inbox' },
  { path: '/inbox/:id', load: () => import('./screens/inbox/index.jsx') },
  { path: '/contacts', load: () => import('./screens/contacts/index.jsx'), nav: 'contacts' },
  { path: '/contacts/:id', load: () => import('./screens/contacts/index.jsx') },
  { path: '/send', load: () => import('./screens/send/index.jsx'), nav: 'send', perm: 'messages.send' },
  { path: '/templates', load: () => import('./screens/templates/index.jsx'), nav: 'templates' },
  { path: '/templates/:id', load: () => import('./screens/templates/index.jsx') },
  { path: '/assistant', load: () => import('./screens/assistant/index.jsx'), nav: 'assistant' },
  { path: '/assistant/:section', load: () => import('./screens/assistant/index.jsx') },
  { path: '/monitoring', load: () => import('./screens/monitoring/index.jsx'), nav: 'monitoring' },
  { path: '/settings', load: () => import('./screens/settings/index.jsx'), nav: 'settings' },
  { path: '/settings/:section', load: () => import('./screens/settings/index.jsx') },
];

const loaded = new Map();

function Screen({ route, params, query }) {
  const [mod, setMod] = useState(() => loaded.get(route.load) || null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    if (loaded.has(route.load)) {
      setMod(loaded.get(route.load));
      return;
    }
    let live = true;
    setMod(null);
    route
      .load()
      .then((m) => {
        loaded.set(route.load, m);
        if (live) setMod(m);
      })
      .catch((e) => live && setErr(e));
    return () => {
      live = false;
    };
  }, [route]);
  if (err) return <p class="error-text">{t('common.load_failed')}</p>;
  if (!mod) return <Spinner />;
  const C = mod.default;
  return <C params={params} query={query} />;
}

function ConnectionBadge() {
  const [st, setSt] = useState('closed');
  useEffect(
    () =>
      onState((x) => {
        setSt(x);
        document.documentElement.dataset.realtime = x; // for tests and styling: "open" when live
      }),
    [],
  );
  if (st === 'open' || st === 'closed') return null;
  return (
    <p class={`conn conn-${st}`} role="status" data-conn={st}>
      {t(st === 'offline' ? 'common.offline' : 'common.reconnecting')}
    </p>
  );
}

function NavLinks({ path, can, onNavigate }) {
  return (
    <ul class="nav-list">
      {ROUTES.filter((r) => r.nav && (!r.perm || can(r.perm))).map((r) => {
        const active = path === r.path || path.startsWith(r.path + '/');
        return (
          <li key={r.path}>
            <Link href={r.path} class={`nav-link${active ? ' active' : ''}`} aria-current={active ? 'page' : undefined} onClick={onNavigate}>
              {t('common.nav.' + r.nav)}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

function UserBox({ session }) {
  const out = async () => {
    try {
      await session.logout();
      resetEvents();
      navigate('/login', { replace: true });
      toast.ok(t('common.logged_out'));
    } catch (e) {
      toast.error(e);
    }
  };
  return (
    <div class="userbox">
      <p class="userbox-who">
        <span class="userbox-email">{session.user ? session.user.email : ''}</span>
        <span class="userbox-role">{t('common.roles.' + session.role)}</span>
      </p>
      <label class="sr-only" for="locale-select">
        {t('common.language')}
      </label>
      <select id="locale-select" class="locale-select" value={getLocale()} onChange={(e) => setLocale(e.currentTarget.value)}>
        {LOCALES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.name}
          </option>
        ))}
      </select>
      <button type="button" class="btn btn-secondary" onClick={out}>
        {t('common.logout')}
      </button>
    </div>
  );
}

function Shell({ session, route, params, query, path }) {
  const [menu, setMenu] = useState(false);
  const mainRef = useRef(null);
  // Keep the realtime socket open while signed in (screens add their own subscriptions).
  useEffect(() => subscribe('resync', () => {}), []);
  useEffect(() => setMenu(false), [path]);
  // The tab's title names the screen (screen readers announce it on navigation).
  useEffect(() => {
    const section = path.split('/')[1];
    const r = ROUTES.find((x) => x.nav === section);
    document.title = r ? `${t('common.nav.' + r.nav)} · Switchboard` : 'Switchboard';
  }, [path, getLocale()]);
  const nav = <NavLinks path={path} can={session.can} onNavigate={() => setMenu(false)} />;
  return (
    <div class="shell">
      <a class="skip-link" href="#main" onClick={(e) => {
        e.preventDefault();
        mainRef.current && mainRef.current.focus();
      }}>
        {t('common.skip_to_content')}
      </a>
      <header class="topbar">
        <Link href="/inbox" class="brand">
          Switchboard
        </Link>
        <button
          type="button"
          class="btn btn-ghost menu-button"
          aria-expanded={menu ? 'true' : 'false'}
          aria-controls="mobile-nav"
          onClick={() => setMenu(!menu)}
        >
          {t('common.menu')}
        </button>
      </header>
      {menu && (
        <nav id="mobile-nav" class="mobile-nav" aria-label={t('common.nav.label')}>
          {nav}
          <UserBox session={session} />
        </nav>
      )}
      <aside class="sidebar">
        <Link href="/inbox" class="brand">
          Switchboard
        </Link>
        <nav aria-label={t('common.nav.label')}>{nav}</nav>
        <UserBox session={session} />
      </aside>
      <main id="main" class="main" tabIndex={-1} ref={mainRef}>
        <ConnectionBadge />
        {!route ? (
          <NotFound />
        ) : route.perm && !session.can(route.perm) ? (
          <div class="page">
            <h1>{t('common.forbidden')}</h1>
            <p>
              <Link href="/inbox">{t('common.nav.inbox')}</Link>
            </p>
          </div>
        ) : (
          <Screen route={route} params={params} query={query} key={route.path} />
        )}
      </main>
      <Toasts />
    </div>
  );
}

function NotFound() {
  return (
    <div class="page">
      <h1>{t('common.not_found')}</h1>
      <p>
        <Link href="/inbox">{t('common.nav.inbox')}</Link>
      </p>
    </div>
  );
}

export function App() {
  useLocale();
  const session = useSession();
  const { path, query } = useRoute();
  useEffect(() => {
    session.refresh();
  }, []);
  useEffect(() => {
    if (session.status === 'ready' && (path === '/' || path === '/login')) {
      const next = query.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/inbox', { replace: true });
    }
  }, [session.status, path]);
  if (session.status === 'loading') return <Spinner />;
  if (session.status !== 'ready') {
    if (session.status === 'error') {
      return (
        <main class="center-page">
          <p class="error-text">{session.error && session.error.message}</p>
        </main>
      );
    }
    return (
      <>
        <Login next={path !== '/' && path !== '/login' ? path + (location.search || '') : null} />
        <Toasts />
      </>
    );
  }
  let route = null;
  let params = null;
  for (const r of ROUTES) {
    params = match(r.path, path);
    if (params) {
      route = r;
      break;
    }
  }
  return <Shell session={session} route={route} params={params} query={query} path={path} />;
}
