// The dashboard's shell: log-in, the header (programme, person, verification line, live
// status, navigation), hash routing between the views, and the app-wide live feed that
// refreshes the header and the current view when the programme changes.
import { api, ApiError, isAbort, setUnauthorizedHandler } from './api';
import { disposeCharts, resizeCharts } from './charts';
import { clear, debounce, h } from './dom';
import { feed } from './feed';
import { data, resetData, setReady, state } from './state';
import type { Session } from './types';
import { errorBox, pageHead } from './ui';
import { renderAccount } from './views/account';
import type { ViewContext } from './views/context';
import { renderEconomics } from './views/economics';
import { renderLive, statusText } from './views/live';
import { renderOverview } from './views/overview';
import { renderPortfolio } from './views/portfolio';
import { renderPrint } from './views/print';
import { renderRegister } from './views/register';
import { verifiedText } from './views/verified';

type ViewName = 'overview' | 'portfolio' | 'account' | 'economics' | 'register' | 'live' | 'print' | 'notfound';
interface Route {
  view: ViewName;
  param: string;
}

const VIEWS: Record<ViewName, { title: string; render: (root: HTMLElement, ctx: ViewContext) => Promise<void> }> = {
  overview: { title: 'Overview', render: renderOverview },
  portfolio: { title: 'Portfolio', render: renderPortfolio },
  account: { title: 'Account', render: renderAccount },
  economics: { title: 'Economics', render: renderEconomics },
  register: { title: 'Register', render: renderRegister },
  live: { title: 'Live', render: renderLive },
  print: { title: 'Board pack', render: renderPrint },
  notfound: {
    title: 'Not found',
    render: async (root) => {
      root.append(pageHead('Page not found', 'There is no such page in the dashboard.'), h('p', null, h('a', { attrs: { href: '#/overview' }, text: 'Go to the overview' })));
    },
  },
};

const NAV: { view: ViewName; label: string; href: string }[] = [
  { view: 'overview', label: 'Overview', href: '#/overview' },
  { view: 'portfolio', label: 'Portfolio', href: '#/portfolio' },
  { view: 'economics', label: 'Economics', href: '#/economics' },
  { view: 'register', label: 'Register', href: '#/register' },
  { view: 'live', label: 'Live', href: '#/live' },
];

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [head = 'overview', param = ''] = parts;
  switch (head) {
    case 'overview': case 'portfolio': case 'register': case 'live': case 'print':
      return parts.length === 1 || (parts.length === 0) ? { view: head, param: '' } : { view: 'notfound', param: '' };
    case 'economics':
      return { view: 'economics', param };
    case 'account':
      return param ? { view: 'account', param } : { view: 'portfolio', param: '' };
    default:
      return { view: 'notfound', param: '' };
  }
}

// --- The shell -------------------------------------------------------------------------------

const app = document.getElementById('app') as HTMLElement;
let main: HTMLElement | null = null;
let verifiedEl: HTMLElement | null = null;
let connEl: HTMLElement | null = null;
let navLinks: HTMLAnchorElement[] = [];
let currentRoute: Route | null = null;
let viewAbort: AbortController | null = null;
let renderSeq = 0;
let printWhenReady = false;
let offFeedEvent: (() => void) | null = null;
let offFeedStatus: (() => void) | null = null;

function skipLink(): HTMLElement {
  const a = h('a', { class: 'skip-link', attrs: { href: '#main' }, text: 'Skip to content' });
  a.addEventListener('click', (ev) => {
    ev.preventDefault();
    main?.focus();
  });
  return a;
}

function showLogin(message?: string): void {
  teardownApp();
  setReady(false);
  clear(app);
  document.title = 'Log in · KAM governance board';
  const input = h('input', {
    testid: 'login-token',
    attrs: { id: 'login-token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'login-help' },
  });
  const submit = h('button', { class: 'btn btn-primary btn-block', testid: 'login-submit', attrs: { type: 'submit' }, text: 'Log in' });
  const errorSlot = h('div', 'login-error-slot');
  const showError = (text: string): void => {
    clear(errorSlot);
    errorSlot.append(h('p', { class: 'login-error', testid: 'login-error', attrs: { role: 'alert', id: 'login-error' }, text }));
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'login-help login-error');
  };
  const form = h('form', { class: 'login-form', testid: 'login-form', attrs: { novalidate: true, 'aria-labelledby': 'login-title' } },
    h('div', 'field',
      h('label', { attrs: { for: 'login-token' }, text: 'Access token' }),
      input,
      h('p', { class: 'field-help', attrs: { id: 'login-help' }, text: 'The token you were given for this dashboard. It is exchanged for a session and not kept in the browser.' })),
    errorSlot,
    submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      showError('Enter your access token.');
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    api.login(token).then((s) => {
      input.value = '';
      void startApp(s);
    }, (e: unknown) => {
      submit.disabled = false;
      submit.textContent = 'Log in';
      showError(e instanceof ApiError ? `Could not log in: ${e.message}` : `Could not reach the dashboard: ${String(e)}`);
      input.select();
      input.focus();
    });
  });
  app.append(h('main', { class: 'login', attrs: { id: 'main', tabindex: '-1' } },
    h('div', 'login-card',
      h('div', 'brand brand-large', h('img', { attrs: { src: 'favicon.svg', alt: '', width: '40', height: '40' } }), h('span', { text: 'KAM governance board' })),
      h('h1', { class: 'login-title', attrs: { id: 'login-title' }, text: 'Log in' }),
      message ? h('p', { class: 'notice notice-info', attrs: { role: 'status' }, text: message }) : null,
      form)));
  input.focus();
}

function teardownApp(): void {
  viewAbort?.abort();
  viewAbort = null;
  disposeCharts();
  offFeedEvent?.();
  offFeedStatus?.();
  offFeedEvent = offFeedStatus = null;
  feed.stop();
  resetData();
  state.session = null;
  currentRoute = null;
  main = verifiedEl = connEl = null;
  navLinks = [];
}

async function startApp(session: Session): Promise<void> {
  state.session = session;
  setReady(false);
  let list;
  try {
    list = await api.programmes();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    clear(app);
    app.append(h('main', { class: 'login', attrs: { id: 'main' } }, errorBox(e, 'your programmes')));
    setReady(true);
    return;
  }
  state.programmes = list.programmes;
  if (!state.programmes.some((p) => p.programmeId === state.programmeId)) state.programmeId = state.programmes[0]?.programmeId ?? '';
  buildShell(session, list.roles);
  if (!state.programmeId) {
    main?.append(pageHead('No programme'), h('p', { text: 'You may not read any programme yet. Ask the programme’s champion for access.' }));
    setReady(true);
    return;
  }
  startFeed();
  void refreshVerified();
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/overview');
  void route();
}

function buildShell(session: Session, roles: string[]): void {
  clear(app);
  const progSlot = h('div', 'programme');
  if (state.programmes.length > 1) {
    const sel = h('select', { attrs: { id: 'programme-picker' } }, state.programmes.map((p) => h('option', { attrs: { value: p.programmeId }, text: p.name })));
    sel.value = state.programmeId;
    sel.addEventListener('change', () => {
      state.programmeId = sel.value;
      resetData();
      startFeed();
      void refreshVerified();
      void route();
    });
    progSlot.append(h('label', { class: 'sr-only', attrs: { for: 'programme-picker' }, text: 'Programme' }), sel);
  } else {
    progSlot.append(h('span', { class: 'programme-name', text: state.programmes[0]?.name ?? '' }));
  }
  const printBtn = h('button', { class: 'btn btn-secondary btn-small', attrs: { type: 'button' }, text: 'Print board pack' });
  printBtn.addEventListener('click', () => {
    printWhenReady = true;
    if (location.hash === '#/print' && document.body.dataset.ready === 'true') {
      printWhenReady = false;
      window.print();
    } else {
      location.hash = '#/print';
    }
  });
  const logoutBtn = h('button', { class: 'btn btn-ghost btn-small', attrs: { type: 'button' }, text: 'Log out' });
  logoutBtn.addEventListener('click', () => {
    logoutBtn.disabled = true;
    const csrf = state.session?.csrfToken ?? '';
    api.logout(csrf).then(() => showLogin('You have logged out.'), (e: unknown) => {
      logoutBtn.disabled = false;
      window.alert(`Could not log out: ${e instanceof Error ? e.message : String(e)}`);
    });
  });
  verifiedEl = h('p', { class: 'verified', testid: 'verified-line', attrs: { role: 'status' }, text: 'Verifying history…' });
  connEl = h('p', { class: 'conn', attrs: { 'aria-live': 'off' } });
  navLinks = NAV.map((n) => h('a', { class: 'nav-link', attrs: { href: n.href }, data: { view: n.view }, text: n.label }));
  main = h('main', { attrs: { id: 'main', tabindex: '-1' } });
  app.append(
    skipLink(),
    h('header', 'app-header',
      h('div', 'header-top',
        h('div', 'header-id',
          h('a', { class: 'brand', attrs: { href: '#/overview', 'aria-label': 'KAM governance: overview' } },
            h('img', { attrs: { src: 'favicon.svg', alt: '', width: '28', height: '28' } }),
            h('span', { class: 'brand-text', text: 'KAM governance' })),
          progSlot),
        h('div', 'header-user',
          h('span', 'who', h('span', { class: 'sr-only', text: 'Logged in as ' }), h('span', { class: 'who-name', text: session.principal }),
            roles.length ? h('span', { class: 'who-roles', text: roles.join(', ') }) : null),
          printBtn,
          logoutBtn)),
      h('div', 'header-bottom',
        h('nav', { class: 'app-nav', attrs: { 'aria-label': 'Main' } }, h('ul', null, navLinks.map((a) => h('li', null, a)))),
        h('div', 'header-status', verifiedEl, connEl))),
    main,
    h('footer', 'app-footer', h('p', { text: 'All times are UTC. Money in the accounts’ currency; figures from the platform’s tamper-evident history.' })),
  );
}

// --- Verification line and live feed -------------------------------------------------------

async function refreshVerified(): Promise<void> {
  const el = verifiedEl;
  if (!el) return;
  try {
    const v = await data().verification();
    const t = verifiedText(v);
    el.textContent = t.text;
    el.classList.toggle('verified-ok', t.ok);
    el.classList.toggle('verified-bad', !t.ok);
  } catch (e) {
    if (isAbort(e)) return;
    el.textContent = `History not verified: ${e instanceof Error ? e.message : String(e)}`;
    el.classList.remove('verified-ok');
    el.classList.add('verified-bad');
  }
}

const onChange = debounce(() => {
  data().invalidate();
  void refreshVerified();
  void refreshView();
}, 600);

function startFeed(): void {
  offFeedEvent?.();
  offFeedStatus?.();
  feed.start(state.programmeId);
  offFeedEvent = feed.onEvent(() => onChange());
  offFeedStatus = feed.onStatus((s) => {
    if (!connEl) return;
    connEl.textContent = statusText(s);
    connEl.className = `conn conn-${s}`;
  });
}

// --- Routing ---------------------------------------------------------------------------------

function viewContext(r: Route, signal: AbortSignal, seq: number, refreshing: boolean): ViewContext {
  return {
    data: data(),
    programmeId: state.programmeId,
    programme: state.programmes.find((p) => p.programmeId === state.programmeId),
    session: state.session as Session,
    signal,
    param: r.param,
    refreshing,
    setReady: (ready: boolean) => {
      if (seq === renderSeq) setReady(ready);
    },
  };
}

async function route(): Promise<void> {
  if (!main || !state.session || !state.programmeId) return;
  const r = parseRoute(location.hash);
  const seq = ++renderSeq;
  const previous = currentRoute;
  currentRoute = r;
  setReady(false);
  viewAbort?.abort();
  const ac = new AbortController();
  viewAbort = ac;
  disposeCharts();
  document.body.dataset.view = r.view;
  for (const a of navLinks) {
    const active = a.dataset.view === r.view || (r.view === 'account' && a.dataset.view === 'portfolio');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = VIEWS[r.view];
  document.title = `${view.title} · ${state.programmes.find((p) => p.programmeId === state.programmeId)?.name ?? ''} · KAM governance`;
  clear(main);
  const root = h('div', { class: `view view-${r.view}` });
  main.append(root, h('p', { class: 'loading', attrs: { role: 'status' }, text: 'Loading…' }));
  try {
    await view.render(root, viewContext(r, ac.signal, seq, false));
  } catch (e) {
    if (seq !== renderSeq || isAbort(e)) return;
    if (e instanceof ApiError && e.status === 401) return;
    root.append(errorBox(e, `the ${view.title.toLowerCase()}`));
  }
  if (seq !== renderSeq) return;
  main.querySelector(':scope > .loading')?.remove();
  // Move focus to the new page's heading when the person navigated (not on first load).
  if (previous) (root.querySelector('h1') as HTMLElement | null)?.focus({ preventScroll: false });
  setReady(true);
  if (r.view === 'print' && printWhenReady) {
    printWhenReady = false;
    window.setTimeout(() => window.print(), 400);
  }
}

/** Re-renders the current view in place after a live change, keeping the scroll. */
async function refreshView(): Promise<void> {
  const r = currentRoute;
  if (!main || !r || r.view === 'live' || r.view === 'print' || r.view === 'notfound') return;
  const active = document.activeElement;
  if (active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
    // The person is using a control (e.g. the slider): try again a little later.
    window.setTimeout(() => void refreshView(), 3000);
    return;
  }
  const seq = renderSeq;
  const focusKey = (active as HTMLElement | null)?.dataset?.sortKey;
  const root = h('div', { class: `view view-${r.view}` });
  const ac = new AbortController();
  try {
    await VIEWS[r.view].render(root, viewContext(r, ac.signal, seq, true));
  } catch {
    return; // keep what is shown
  }
  if (seq !== renderSeq || !main) {
    ac.abort();
    return;
  }
  const old = main.querySelector(':scope > .view');
  const y = window.scrollY;
  disposeCharts(old ?? undefined);
  viewAbort?.abort();
  viewAbort = ac;
  if (old) old.replaceWith(root);
  else main.append(root);
  window.scrollTo(0, y);
  if (focusKey) (root.querySelector(`[data-sort-key="${CSS.escape(focusKey)}"]`) as HTMLElement | null)?.focus();
}

window.addEventListener('hashchange', () => {
  if (location.hash === '#main') return;
  void route();
});
window.addEventListener('beforeprint', () => resizeCharts());
window.addEventListener('afterprint', () => resizeCharts());
window.addEventListener('pagehide', () => feed.stop());
window.addEventListener('pageshow', (ev) => {
  if (ev.persisted && state.session && state.programmeId) startFeed();
});

setUnauthorizedHandler(() => {
  if (state.session) showLogin('Your session has ended. Please log in again.');
});
// A feed refused for good may mean the session ended (a feed cannot tell us why).
feed.onClosed = (): void => {
  if (!state.session) return;
  api.session().then((s) => {
    if (!s && state.session) showLogin('Your session has ended. Please log in again.');
  }, () => {
    /* the server is away: the feed keeps retrying */
  });
};

// --- Start ---------------------------------------------------------------------------------
setReady(false);
api.session().then((s) => (s ? startApp(s) : showLogin()), (e: unknown) => {
  showLogin(`Could not reach the dashboard’s server: ${e instanceof Error ? e.message : String(e)}`);
});
