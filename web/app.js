// The shell: session, language, navigation, hash routes.
import { initialLanguage, setLanguage, t, language } from './i18n.js';
import { api, ApiFailure, h, setCsrf, toast } from './lib.js';
import { loginPage, setPasswordPage, forgotPage } from './pages/auth.js';
import * as admin from './pages/admin.js';
import * as employee from './pages/employee.js';
import * as calls from './pages/calls.js';
import * as schedules from './pages/schedules.js';

export const state = { session: undefined };

const ADMIN_NAV = [
  ['#/workplaces', 'workplaces'],
  ['#/groups', 'groups'],
  ['#/portals', 'portals'],
  ['#/blocking', 'blocking'],
  ['#/schedules', 'schedules'],
  ['#/templates', 'templates'],
  ['#/accounts', 'accounts'],
  ['#/import', 'import'],
  ['#/live', 'live'],
  ['#/calls', 'callList'],
];
const EMPLOYEE_NAV = [
  ['#/me', 'mySettings'],
  ['#/me/voicebox', 'myVoicebox'],
  ['#/me/calls', 'myCalls'],
  ['#/me/live', 'live'],
];

const routes = [
  [/^\/login$/, () => loginPage],
  [/^\/forgot$/, () => forgotPage],
  [/^\/set-password$/, () => setPasswordPage],
  [/^\/workplaces$/, () => admin.workplacesPage],
  [/^\/workplaces\/new$/, () => admin.workplaceFormPage],
  [/^\/workplaces\/([\w-]+)$/, () => admin.workplaceFormPage],
  [/^\/workplaces\/([\w-]+)\/features$/, () => employee.settingsPage],
  [/^\/groups$/, () => admin.groupsPage],
  [/^\/portals$/, () => admin.portalsPage],
  [/^\/blocking$/, () => admin.blockingPage],
  [/^\/schedules$/, () => schedules.schedulesPage],
  [/^\/templates$/, () => admin.templatesPage],
  [/^\/accounts$/, () => admin.accountsPage],
  [/^\/import$/, () => admin.importPage],
  [/^\/live$/, () => calls.livePage],
  [/^\/calls$/, () => calls.callListPage],
  [/^\/me$/, () => employee.settingsPage],
  [/^\/me\/voicebox$/, () => employee.voiceboxPage],
  [/^\/me\/calls$/, () => calls.callListPage],
  [/^\/me\/live$/, () => calls.livePage],
];
const PUBLIC = ['/login', '/forgot', '/set-password'];

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  return { path, params: new URLSearchParams(query) };
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function home() {
  return state.session?.account.role === 'employee' ? '#/me' : '#/workplaces';
}

function renderChrome() {
  document.title = t('appName');
  document.getElementById('brand').textContent = state.session
    ? `${t('appName')} · ${state.session.companyName}`
    : t('appName');
  document.getElementById('skip-link').textContent = t('skip');
  document.getElementById('lang-label').textContent = t('language');
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav'));
  nav.replaceChildren();
  const logout = document.getElementById('logout');
  logout.textContent = t('signOut');
  logout.hidden = !state.session;
  document.getElementById('who').textContent = state.session ? state.session.account.username : '';
  if (!state.session) return;
  const items = state.session.account.role === 'employee' ? EMPLOYEE_NAV : ADMIN_NAV;
  const current = '#' + parseHash().path;
  for (const [href, key] of items) {
    nav.append(
      h(
        'a',
        {
          href,
          'aria-current':
            current === href || (current.startsWith(href + '/') && href !== '#/me') ? 'page' : undefined,
        },
        t(key),
      ),
    );
  }
}

export async function loadSession() {
  try {
    state.session = await api('GET', '/v1/auth/session', undefined, { allow401: true });
    setCsrf(state.session.csrfToken);
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 401) throw err;
    state.session = undefined;
    setCsrf('');
  }
  return state.session;
}

let renderSeq = 0;
export async function render() {
  const seq = ++renderSeq;
  const { path, params } = parseHash();
  if (!state.session && !PUBLIC.includes(path)) {
    if (path !== '/' && path !== '/login') sessionStorage.setItem('pbx-after-login', '#' + path);
    location.replace('#/login');
    return;
  }
  if (state.session && (path === '/' || path === '/login')) {
    location.replace(home());
    return;
  }
  renderChrome();
  const main = document.getElementById('main');
  const route = routes.find(([re]) => re.test(path));
  const page = route ? route[1]() : undefined;
  main.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  if (!page) {
    location.replace(state.session ? home() : '#/login');
    return;
  }
  const match = path.match(route[0]);
  try {
    const content = await page({ params, match, session: state.session, go, onSignedIn });
    if (seq !== renderSeq) return;
    main.replaceChildren(content);
    main.dataset.page = path;
    labelCells(main);
    // move focus to the page heading for keyboard and screen-reader users
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err instanceof ApiFailure && err.status === 401) return;
    main.replaceChildren(
      h(
        'div',
        { class: 'alert', role: 'alert' },
        err instanceof ApiFailure && err.status === 403 ? t('forbidden') : String(err.message || err),
      ),
    );
  }
}

async function onSignedIn(session) {
  state.session = session;
  setCsrf(session.csrfToken);
  const after = sessionStorage.getItem('pbx-after-login');
  sessionStorage.removeItem('pbx-after-login');
  go(after && !(session.account.role === 'employee' && !after.startsWith('#/me')) ? after : home());
}

window.addEventListener('pbx:signed-out', () => {
  if (!state.session) return;
  state.session = undefined;
  toast(t('sessionEnded'));
  go('#/login');
});

async function start() {
  setLanguage(initialLanguage());
  const select = document.getElementById('lang');
  select.value = language();
  select.addEventListener('change', () => {
    setLanguage(select.value);
    render();
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await api('POST', '/v1/auth/logout');
    } catch {
      /* signed out anyway */
    }
    state.session = undefined;
    setCsrf('');
    go('#/login');
  });
  window.addEventListener('hashchange', render);
  await loadSession();
  await render();
  document.body.dataset.ready = 'true';
}

start();

/**
 * Each data cell carries its column's heading (data-label), so on a phone a table reflows into
 * stacked rows that still say what each value is (style.css). Rows added later (a device, a
 * live call) get theirs too.
 */
function labelCells(root) {
  for (const table of root.querySelectorAll('table')) {
    const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    if (heads.length === 0) continue;
    for (const tr of table.querySelectorAll('tbody tr')) {
      [...tr.children].forEach((td, i) => {
        if (td.tagName === 'TD' && heads[i] && !td.dataset.label) td.dataset.label = heads[i];
      });
    }
  }
}
const relabel = new MutationObserver(() => labelCells(document.querySelector('main') ?? document));
relabel.observe(document.documentElement, { childList: true, subtree: true });
