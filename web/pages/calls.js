// Live calls (the event stream over a WebSocket, authenticated with a single-use ticket) and
// call lists (company-wide for admins, the own workplace for employees).
import { t } from '../i18n.js';
import { api, ApiFailure, field, fmtTime, h } from '../lib.js';

const OUTCOMES = ['answered', 'missed', 'busy', 'forwarded', 'voicebox', 'pulled', 'blocked', 'refused'];
const DIRECTIONS = ['inbound', 'outbound', 'internal'];

function scopeOf(session) {
  const c = `/v1/companies/${session.account.companyId}`;
  return session.account.role === 'employee'
    ? {
        calls: `${c}/workplaces/${session.account.workplaceId}/calls`,
        ticket: `${c}/workplaces/${session.account.workplaceId}/event-tickets`,
      }
    : { calls: `${c}/calls`, ticket: `${c}/event-tickets` };
}

const outcomeLabel = (o) => t(`outcome_${o}`);
const directionLabel = (d) => t(`dir_${d}`);

function stateLabel(call) {
  return t(`state_${call.state}`) + (call.detail ? ` (${call.detail})` : '');
}

export async function livePage({ session }) {
  const { ticket } = scopeOf(session);
  const status = h('p', { role: 'status', class: 'muted', 'data-live-status': '' }, t('connecting'));
  const activeBody = h('tbody');
  const noneRow = () => h('tr', {}, h('td', { colspan: 5 }, t('noLive')));
  activeBody.append(noneRow());
  const logBody = h('tbody');
  const announce = h('div', { class: 'visually-hidden', 'aria-live': 'polite' });
  const calls = new Map();
  let lastEventId;
  let socket;
  let retry = 0;
  const root = h(
    'div',
    {},
    h('h1', {}, session.account.role === 'employee' ? t('myLive') : t('live')),
    h('p', { class: 'muted' }, t('liveHint')),
    status,
    announce,
    h('h2', {}, t('activeCalls')),
    h(
      'table',
      { 'data-live-calls': '' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('direction'), t('from'), t('to'), t('status'), t('start')].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      activeBody,
    ),
    h('h2', {}, t('events')),
    h(
      'table',
      { 'data-live-events': '' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('time'), t('event'), t('from'), t('to')].map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      logBody,
    ),
  );

  const draw = () => {
    const rows = [...calls.values()].map((c) =>
      h(
        'tr',
        { 'data-call': c.id },
        h('td', {}, directionLabel(c.direction)),
        h('td', {}, c.from),
        h('td', {}, c.to),
        h('td', {}, stateLabel(c)),
        h('td', {}, fmtTime(c.at)),
      ),
    );
    activeBody.replaceChildren(...(rows.length ? rows : [noneRow()]));
  };

  const onEvent = (e) => {
    if (e.id) lastEventId = e.id;
    logBody.prepend(
      h(
        'tr',
        {},
        h('td', {}, fmtTime(e.at)),
        h('td', {}, t(`ev_${e.type}`) || e.type),
        h('td', {}, e.from ?? ''),
        h('td', {}, e.to ?? e.number ?? ''),
      ),
    );
    while (logBody.children.length > 50) logBody.lastChild.remove();
    const c = e.callId ? calls.get(e.callId) : undefined;
    switch (e.type) {
      case 'call.ringing':
        calls.set(e.callId, {
          id: e.callId,
          direction: e.direction,
          from: e.from,
          to: e.to,
          state: 'ringing',
          at: e.at,
        });
        announce.textContent = `${t('state_ringing')}: ${e.from} → ${e.to}`;
        break;
      case 'call.answered':
        if (c) {
          c.state = 'answered';
          c.detail = e.answeredBy?.kind === 'number' ? e.answeredBy.id : '';
        }
        break;
      case 'call.forwarded':
        if (c) {
          c.state = 'forwarded';
          c.detail = e.to;
        }
        break;
      case 'call.voicebox':
        if (c) {
          c.state = 'voicebox';
          c.detail = '';
        }
        break;
      case 'call.pulled':
        if (c) {
          c.state = 'pulled';
          c.detail = e.to;
        }
        break;
      case 'call.ended':
        calls.delete(e.callId);
        break;
      default:
        break;
    }
    draw();
  };

  const connect = async () => {
    if (!document.contains(root) && socket) return;
    let grant;
    try {
      grant = await api('POST', ticket);
    } catch (err) {
      status.textContent =
        err instanceof ApiFailure && err.status === 404 ? t('notAvailable') : t('disconnected');
      if (!(err instanceof ApiFailure) || err.status >= 500)
        setTimeout(connect, Math.min(30_000, 1000 * 2 ** retry++));
      return;
    }
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${grant.url}${lastEventId ? `?lastEventId=${encodeURIComponent(lastEventId)}` : ''}`;
    socket = new WebSocket(url, grant.protocols);
    socket.addEventListener('message', (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        retry = 0;
        status.textContent = t('connected');
        return;
      }
      if (msg.type === 'resume.gap') {
        calls.clear();
        draw();
        return;
      }
      onEvent(msg);
    });
    socket.addEventListener('close', (e) => {
      if (!document.contains(root)) return;
      status.textContent = t('disconnected');
      // 4401: the session or account was revoked; a new ticket would be refused anyway
      if (e.code === 4401) return;
      setTimeout(connect, Math.min(30_000, 1000 * 2 ** retry++));
    });
  };
  // leaving the page closes the socket
  const stop = () => {
    window.removeEventListener('hashchange', stop);
    socket?.close(1000);
  };
  window.addEventListener('hashchange', stop);
  setTimeout(connect, 0);
  return root;
}

export async function callListPage({ session }) {
  const { calls } = scopeOf(session);
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('moreCalls'));
  const empty = h('p', { role: 'status', class: 'muted' });
  const csv = h('a', { class: 'button secondary', download: 'calls.csv' }, t('exportCsv'));
  const filters = h(
    'form',
    { class: 'card', novalidate: true, role: 'search' },
    h(
      'div',
      { class: 'grid' },
      field({
        name: 'direction',
        label: t('direction'),
        type: 'select',
        value: '',
        options: [
          { value: '', label: t('all') },
          ...DIRECTIONS.map((d) => ({ value: d, label: directionLabel(d) })),
        ],
      }),
      field({
        name: 'outcome',
        label: t('outcome'),
        type: 'select',
        value: '',
        options: [
          { value: '', label: t('all') },
          ...OUTCOMES.map((o) => ({ value: o, label: outcomeLabel(o) })),
        ],
      }),
      field({ name: 'from', label: t('since'), type: 'date' }),
      field({ name: 'to', label: t('until'), type: 'date' }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('search')), csv),
  );
  let cursor;
  const query = () => {
    const q = new URLSearchParams({ limit: '50' });
    const f = new FormData(filters);
    for (const k of ['direction', 'outcome']) if (f.get(k)) q.set(k, f.get(k));
    if (f.get('from')) q.set('from', new Date(`${f.get('from')}T00:00:00`).toISOString());
    if (f.get('to')) q.set('to', new Date(`${f.get('to')}T23:59:59`).toISOString());
    return q;
  };
  const load = async (append) => {
    const q = query();
    csv.href = `${calls}?${q}&format=csv`;
    if (append && cursor) q.set('cursor', cursor);
    const res = await api('GET', `${calls}?${q}`);
    cursor = res.nextCursor;
    const rows = res.items.map((c) =>
      h(
        'tr',
        {},
        h('td', {}, fmtTime(c.startedAt)),
        h('td', {}, directionLabel(c.direction)),
        h('td', {}, c.from),
        h('td', {}, c.to),
        h(
          'td',
          {},
          outcomeLabel(c.outcome) +
            (c.forwardedTo ? ` → ${c.forwardedTo}` : c.pulledTo ? ` → ${c.pulledTo}` : ''),
        ),
        h('td', {}, c.durationSeconds ? `${c.durationSeconds} s` : ''),
      ),
    );
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    more.hidden = !cursor;
    empty.textContent = tbody.children.length === 0 ? t('noCalls') : '';
  };
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    load(false);
  });
  more.addEventListener('click', () => load(true));
  try {
    await load(false);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 404)
      return h('div', {}, h('h1', {}, t('callList')), h('p', {}, t('notAvailable')));
    throw err;
  }
  return h(
    'div',
    {},
    h('h1', {}, session.account.role === 'employee' ? t('myCalls') : t('callList')),
    filters,
    h(
      'table',
      { 'data-call-list': '' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('start'), t('direction'), t('from'), t('to'), t('outcome'), t('duration')].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      tbody,
    ),
    empty,
    h('div', { class: 'actions' }, more),
  );
}
