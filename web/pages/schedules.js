// Schedules (admin): opening hours per weekday, public holidays of a federal state, closed days.
// One form per schedule (edit, delete) and one to create a new one. Hours are typed the way
// people write them ("08:00–12:00, 13:00–17:00"); what cannot be read is sent as typed, so the
// API names the field and the form shows it there.
import { t } from '../i18n.js';
import { alertBox, api, field, h, onSubmit, toast } from '../lib.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const STATES = [
  ['BW', 'Baden-Württemberg'],
  ['BY', 'Bayern'],
  ['BE', 'Berlin'],
  ['BB', 'Brandenburg'],
  ['HB', 'Bremen'],
  ['HH', 'Hamburg'],
  ['HE', 'Hessen'],
  ['MV', 'Mecklenburg-Vorpommern'],
  ['NI', 'Niedersachsen'],
  ['NW', 'Nordrhein-Westfalen'],
  ['RP', 'Rheinland-Pfalz'],
  ['SL', 'Saarland'],
  ['SN', 'Sachsen'],
  ['ST', 'Sachsen-Anhalt'],
  ['SH', 'Schleswig-Holstein'],
  ['TH', 'Thüringen'],
];

/** "08:00–12:00, 13:00–17:00" → intervals; an unreadable part goes as typed (the API names it) */
export function parseHours(text) {
  return text
    .split(/[,;]/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = part.match(/^(\d{1,2}:\d{2})\s*(?:-|–|bis|to)\s*(\d{1,2}:\d{2})$/i);
      if (!m) return { from: part, to: '' };
      const pad = (x) => x.padStart(5, '0');
      return { from: pad(m[1]), to: pad(m[2]) };
    });
}

const formatHours = (intervals = []) => intervals.map((i) => `${i.from}–${i.to}`).join(', ');

/** one closed day (or range) per line: "2026-12-24 – 2026-12-31 Betriebsferien" */
export function parseClosedDays(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const m = line.match(/^(\d{4}-\d{2}-\d{2})(?:\s*(?:-|–|bis|to)\s*(\d{4}-\d{2}-\d{2}))?\s+(.+)$/i);
      if (!m) return { from: line, name: line };
      return { from: m[1], ...(m[2] ? { to: m[2] } : {}), name: m[3] };
    });
}

const formatClosedDays = (days = []) =>
  days.map((d) => `${d.from}${d.to ? ` – ${d.to}` : ''} ${d.name}`).join('\n');

function scheduleForm(schedule, { onSaved, onDelete }) {
  const id = schedule ? `s-${schedule.id}` : 's-new';
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': id, dataset: { schedule: schedule?.name ?? '' } },
    h('h2', { id }, schedule ? schedule.name : t('newSchedule')),
    alertBox(),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'name', label: t('name'), value: schedule?.name ?? '' }),
      field({
        name: 'timezone',
        label: t('timezone'),
        value: schedule?.timezone ?? '',
        hint: t('scheduleTimezoneHint'),
      }),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, t('openingHours')),
      h('p', { class: 'hint' }, t('openingHoursHint')),
      h(
        'div',
        { class: 'grid' },
        DAYS.map((d) =>
          field({
            name: `day-${d}`,
            path: `week.${d}`,
            label: t(`day_${d}`),
            value: formatHours(schedule?.week?.[d]),
          }),
        ),
      ),
      h('p', { class: 'field-error', 'data-error-for': 'week' }),
    ),
    field({
      name: 'state',
      path: 'holidays',
      label: t('holidaysOf'),
      type: 'select',
      value: schedule?.holidays?.state ?? '',
      options: [{ value: '', label: t('noHolidays') }, ...STATES.map(([value, label]) => ({ value, label }))],
    }),
    field({
      name: 'closedDays',
      label: t('closedDays'),
      type: 'textarea',
      value: formatClosedDays(schedule?.closedDays),
      hint: t('closedDaysHint'),
    }),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, schedule ? t('save') : t('create')),
      schedule
        ? h('button', { type: 'button', class: 'danger', onclick: () => onDelete(schedule) }, t('delete'))
        : null,
    ),
  );
  onSubmit(form, async (v) => {
    const body = {
      name: v.name,
      week: Object.fromEntries(DAYS.map((d) => [d, parseHours(v[`day-${d}`] ?? '')])),
      closedDays: parseClosedDays(v.closedDays ?? ''),
    };
    if (schedule) {
      body.timezone = v.timezone || null;
      body.holidays = v.state ? { country: 'DE', state: v.state } : null;
    } else {
      if (v.timezone) body.timezone = v.timezone;
      if (v.state) body.holidays = { country: 'DE', state: v.state };
    }
    await onSaved(body);
  });
  return form;
}

export async function schedulesPage({ session, go }) {
  const b = `/v1/companies/${session.account.companyId}`;
  const schedules = await api('GET', `${b}/schedules`);
  const onDelete = async (s) => {
    if (!confirm(t('confirmDelete', { x: s.name }))) return;
    await api('DELETE', `${b}/schedules/${s.id}`);
    toast(t('deleted'));
    go('#/schedules');
  };
  return h(
    'div',
    {},
    h('h1', {}, t('schedules')),
    h('p', { class: 'muted' }, t('schedulesIntro')),
    ...schedules.map((s) =>
      scheduleForm(s, {
        onDelete,
        onSaved: async (body) => {
          await api('PATCH', `${b}/schedules/${s.id}`, body);
          toast(t('saved'));
          go('#/schedules');
        },
      }),
    ),
    scheduleForm(undefined, {
      onDelete,
      onSaved: async (body) => {
        await api('POST', `${b}/schedules`, body);
        toast(t('created'));
        go('#/schedules');
      },
    }),
  );
}

/** The availability card of the settings page: do-not-disturb, and the schedule with its closed-hours target. */
export async function availabilityCard(session, url) {
  const [av, schedules] = await Promise.all([
    api('GET', `${url}/availability`),
    api('GET', `/v1/companies/${session.account.companyId}/schedules`).catch(() => []),
  ]);
  const target = av.closedTarget;
  const isNumber = target && target !== 'voicebox';
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'av-h', 'data-form': 'availability' },
    h('h2', { id: 'av-h' }, t('availability')),
    alertBox(),
    field({
      name: 'doNotDisturb',
      label: t('doNotDisturb'),
      type: 'checkbox',
      value: av.doNotDisturb,
      hint: t('dndHint'),
    }),
    field({
      name: 'scheduleId',
      label: t('openingHoursOf'),
      type: 'select',
      value: av.scheduleId ?? '',
      options: [
        { value: '', label: t('alwaysOpen') },
        ...schedules.map((s) => ({ value: s.id, label: s.name })),
      ],
    }),
    h(
      'fieldset',
      {},
      h('legend', {}, t('whenClosed')),
      h(
        'div',
        { role: 'radiogroup', 'aria-label': t('whenClosed'), class: 'actions' },
        h('input', { type: 'radio', id: 'ct-v', name: 'closedTo', value: 'voicebox', checked: !isNumber }),
        h('label', { for: 'ct-v' }, t('toVoicebox')),
        h('input', { type: 'radio', id: 'ct-n', name: 'closedTo', value: 'number', checked: isNumber }),
        h('label', { for: 'ct-n' }, t('toNumber')),
      ),
      field({
        name: 'closedNumber',
        path: 'closedTarget',
        label: t('targetNumber'),
        value: isNumber ? target.number : '',
        attrs: { inputmode: 'tel', autocomplete: 'tel' },
      }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
  );
  onSubmit(form, async (v) => {
    const body = { doNotDisturb: v.doNotDisturb, scheduleId: v.scheduleId || null };
    if (v.scheduleId) body.closedTarget = v.closedTo === 'number' ? { number: v.closedNumber } : 'voicebox';
    await api('PUT', `${url}/availability`, body);
    toast(t('saved'));
  });
  return form;
}

/**
 * Selective forwarding: rules by caller. Each rule is a card row: the callers (numbers or
 * prefixes like "+4930*", comma-separated), anonymous callers, and the target; an empty row is
 * left out. Up to three rows are shown (one more than there are rules).
 */
export async function selectiveCard(url) {
  const { rules } = await api('GET', `${url}/selective-forwarding`);
  const rows = [...rules, { enabled: true, callers: [], anonymous: false, target: 'voicebox' }].slice(0, 10);
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'sel-h', 'data-form': 'selective' },
    h('h2', { id: 'sel-h' }, t('selective')),
    h('p', { class: 'hint' }, t('selectiveHint')),
    alertBox(),
    ...rows.map((rule, i) => {
      const isNumber = rule.target && rule.target !== 'voicebox';
      return h(
        'fieldset',
        { 'data-rule': String(i) },
        h('legend', {}, `${t('selectiveRule')} ${i + 1}`),
        field({
          name: `r${i}-enabled`,
          path: `rules.${i}.enabled`,
          label: t('enabled'),
          type: 'checkbox',
          value: rule.enabled,
        }),
        field({
          name: `r${i}-callers`,
          path: `rules.${i}.callers`,
          label: t('selectiveCallers'),
          value: rule.callers.join(', '),
          hint: t('selectiveCallersHint'),
        }),
        field({
          name: `r${i}-anonymous`,
          path: `rules.${i}.anonymous`,
          label: t('anonymousCallers'),
          type: 'checkbox',
          value: rule.anonymous,
        }),
        h(
          'div',
          { role: 'radiogroup', 'aria-label': t('target'), class: 'actions' },
          h('input', {
            type: 'radio',
            id: `r${i}-tv`,
            name: `r${i}-to`,
            value: 'voicebox',
            checked: !isNumber,
          }),
          h('label', { for: `r${i}-tv` }, t('toVoicebox')),
          h('input', { type: 'radio', id: `r${i}-tn`, name: `r${i}-to`, value: 'number', checked: isNumber }),
          h('label', { for: `r${i}-tn` }, t('toNumber')),
        ),
        field({
          name: `r${i}-number`,
          path: `rules.${i}.target`,
          label: t('targetNumber'),
          value: isNumber ? rule.target.number : '',
          attrs: { inputmode: 'tel' },
        }),
      );
    }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
  );
  onSubmit(form, async (v) => {
    const out = [];
    rows.forEach((_, i) => {
      const callers = (v[`r${i}-callers`] ?? '').split(/[,;]/).map((c) => c.trim()).filter(Boolean);
      if (callers.length === 0 && !v[`r${i}-anonymous`]) return; // an empty row is no rule
      out.push({
        enabled: v[`r${i}-enabled`],
        callers,
        anonymous: v[`r${i}-anonymous`],
        target: v[`r${i}-to`] === 'number' ? { number: v[`r${i}-number`] } : 'voicebox',
      });
    });
    await api('PUT', `${url}/selective-forwarding`, { rules: out });
    toast(t('saved'));
  });
  return form;
}
