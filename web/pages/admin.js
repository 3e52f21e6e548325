// Company admin pages: workplaces, groups and free numbers, portals, blocking profiles,
// accounts and invitations, CSV import.
import { t, tm } from '../i18n.js';
import { alertBox, api, ApiFailure, field, h, onSubmit, secretBox, showFailure, toast } from '../lib.js';

const base = (s) => `/v1/companies/${s.account.companyId}`;
const opt = (items, label = (x) => x.name, withNone = true) => [
  ...(withNone ? [{ value: '', label: t('none') }] : []),
  ...items.map((x) => ({ value: x.id, label: label(x) })),
];
const splitList = (s) =>
  s
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);

// ---------- workplaces ----------

export async function workplacesPage({ session }) {
  const list = await api('GET', `${base(session)}/workplaces`);
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', role: 'status' });
  const search = field({ name: 'q', label: t('search'), type: 'search', hint: t('searchHint') });
  const selected = new Set();
  const bulkOut = h('div', { role: 'status' });
  const draw = (q) => {
    const needle = q.toLowerCase();
    const rows = list.filter((w) =>
      [w.firstName, w.lastName, w.username, w.number, w.extension, w.email].some((x) =>
        x.toLowerCase().includes(needle),
      ),
    );
    tbody.replaceChildren(
      ...rows.map((w) => {
        const box = h('input', {
          type: 'checkbox',
          checked: selected.has(w.id),
          'aria-label': `${t('select')}: ${w.firstName} ${w.lastName}`,
          onchange: (e) => (e.target.checked ? selected.add(w.id) : selected.delete(w.id)),
        });
        return h(
          'tr',
          {},
          h('td', {}, box),
          h('td', {}, h('a', { href: `#/workplaces/${w.id}` }, `${w.firstName} ${w.lastName}`)),
          h('td', {}, w.username),
          h('td', {}, w.number),
          h('td', {}, w.extension),
          h('td', {}, h('span', { class: 'badge' }, t(w.status))),
          h('td', {}, h('a', { href: `#/workplaces/${w.id}/features` }, t('features'))),
        );
      }),
    );
    empty.textContent = rows.length === 0 ? t('noResults') : '';
  };
  search.querySelector('input').addEventListener('input', (e) => draw(e.target.value));
  draw('');
  const bulk = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        if (selected.size === 0) {
          bulkOut.replaceChildren(h('p', { class: 'alert' }, t('selectFirst')));
          return;
        }
        if (!confirm(t('confirmRegenerate', { n: selected.size }))) return;
        const csv = await api('POST', `${base(session)}/workplaces/credentials`, {
          workplaceIds: [...selected],
        });
        const href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
        bulkOut.replaceChildren(
          h(
            'p',
            { class: 'notice' },
            t('shownOnce'),
            ' ',
            h('a', { href, download: 'sip-credentials.csv' }, t('downloadCsv')),
          ),
        );
        bulkOut.querySelector('a').focus();
      },
    },
    t('bulkRegenerate'),
  );
  return h(
    'div',
    {},
    h('h1', {}, t('workplaces')),
    h(
      'div',
      { class: 'actions' },
      h('a', { class: 'button', href: '#/workplaces/new' }, t('newWorkplace')),
      bulk,
    ),
    bulkOut,
    h('div', { role: 'search' }, search),
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, t('workplaces')),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('select'), t('name'), t('username'), t('number'), t('extension'), t('status'), ''].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      tbody,
    ),
    empty,
  );
}

export async function workplaceFormPage({ session, match, go }) {
  const wid = match[1];
  const b = base(session);
  const [groups, profiles, templates, w] = await Promise.all([
    api('GET', `${b}/groups`),
    api('GET', `${b}/blocking-profiles`),
    api('GET', `${b}/templates`),
    wid ? api('GET', `${b}/workplaces/${wid}`) : Promise.resolve(undefined),
  ]);
  const groupId = w?.groupId ?? (groups.find((g) => g.isDefault) ?? groups[0])?.id;
  const datalist = h('datalist', { id: 'free-numbers' });
  const fillFree = async (gid) => {
    if (!gid) return;
    try {
      const { numbers } = await api('GET', `${b}/groups/${gid}/available-numbers?limit=20`);
      datalist.replaceChildren(...numbers.map((n) => h('option', { value: n })));
    } catch {
      /* optional help only */
    }
  };
  const alert = alertBox();
  const groupField = field({
    name: 'groupId',
    label: t('group'),
    type: 'select',
    value: groupId,
    options: opt(groups, (g) => g.name, false),
  });
  groupField.querySelector('select').addEventListener('change', (e) => fillFree(e.target.value));
  const numberField = field({
    name: 'number',
    label: t('number'),
    value: w?.number,
    attrs: { list: 'free-numbers', inputmode: 'tel' },
    hint: t('freeNumbers'),
  });
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'wp-title' },
    alert,
    h(
      'div',
      { class: 'grid' },
      field({ name: 'firstName', label: t('firstName'), value: w?.firstName, autocomplete: 'off' }),
      field({ name: 'lastName', label: t('lastName'), value: w?.lastName, autocomplete: 'off' }),
      field({ name: 'email', label: t('email'), type: 'email', value: w?.email, autocomplete: 'off' }),
      field({
        name: 'username',
        label: t('username'),
        value: w?.username,
        autocomplete: 'off',
        attrs: w ? { readonly: true } : {},
      }),
      groupField,
      numberField,
      datalist,
      field({
        name: 'extension',
        label: t('extension'),
        value: w?.extension,
        attrs: { inputmode: 'numeric' },
      }),
      field({
        name: 'language',
        label: t('languageField'),
        type: 'select',
        value: w?.language ?? 'de',
        options: [
          { value: 'de', label: 'Deutsch' },
          { value: 'en', label: 'English' },
        ],
      }),
      field({
        name: 'callerIdPresentation',
        label: t('callerId'),
        type: 'select',
        value: w?.callerIdPresentation ?? 'number',
        options: [
          { value: 'number', label: t('showNumber') },
          { value: 'anonymous', label: t('anonymous') },
        ],
      }),
      field({
        name: 'blockingProfileId',
        label: t('blockingProfileOne'),
        type: 'select',
        value: w?.blockingProfileId ?? '',
        options: opt(profiles),
      }),
      w
        ? null
        : field({
            name: 'templateId',
            label: t('template'),
            type: 'select',
            value: '',
            options: opt(templates),
          }),
      w
        ? null
        : field({
            name: 'deviceType',
            path: 'devices',
            label: t('device'),
            type: 'select',
            value: 'desktop',
            options: [{ value: '', label: t('noDevice') }, ...deviceTypeOptions()],
          }),
      w
        ? null
        : field({
            name: 'deviceModel',
            path: 'devices.0.model',
            label: t('deviceModel'),
            hint: t('deviceModelHint'),
          }),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, w ? t('save') : t('create')),
      h('a', { href: '#/workplaces' }, t('cancel')),
    ),
  );
  const after = h('div', {});
  onSubmit(form, async (v) => {
    const body = {
      firstName: v.firstName,
      lastName: v.lastName,
      email: v.email,
      username: v.username,
      groupId: v.groupId,
      number: v.number,
      language: v.language,
      callerIdPresentation: v.callerIdPresentation,
      ...(v.extension ? { extension: v.extension } : {}),
    };
    if (w) {
      body.blockingProfileId = v.blockingProfileId || null;
      if (body.groupId === w.groupId) delete body.groupId;
      if (body.number === w.number) delete body.number;
      if (body.extension === w.extension) delete body.extension;
      if ((w.blockingProfileId ?? null) === body.blockingProfileId) delete body.blockingProfileId;
      await api('PATCH', `${b}/workplaces/${w.id}`, body);
      toast(t('saved'));
      go(`#/workplaces/${w.id}`);
    } else {
      if (v.blockingProfileId) body.blockingProfileId = v.blockingProfileId;
      if (v.templateId) body.templateId = v.templateId;
      if (v.deviceType)
        body.devices = [{ type: v.deviceType, ...(v.deviceModel ? { model: v.deviceModel } : {}) }];
      const created = await api('POST', `${b}/workplaces`, body);
      form.replaceWith(
        h(
          'div',
          {},
          h(
            'p',
            { class: 'notice', role: 'status' },
            `${t('created')} ${created.firstName} ${created.lastName} (${created.number})`,
          ),
          ...created.devices.map((d) =>
            secretBox(
              `${t('sipUser')} ${d.sipUsername} — ${t('sipPassword')}. ${t('shownOnce')}`,
              d.sipPassword,
            ),
          ),
          h(
            'div',
            { class: 'actions' },
            h('a', { class: 'button', href: `#/workplaces/${created.id}` }, t('editWorkplace')),
            h('a', { href: '#/workplaces' }, t('workplaces')),
          ),
        ),
      );
      document.querySelector('main .notice')?.focus?.();
    }
  });
  await fillFree(groupId);
  const page = h(
    'div',
    {},
    h(
      'h1',
      { id: 'wp-title' },
      w ? `${t('editWorkplace')}: ${w.firstName} ${w.lastName}` : t('newWorkplace'),
    ),
    form,
    after,
  );
  if (w)
    page.append(
      devicesSection(b, w),
      inviteSection(b, w),
      h('p', {}, h('a', { href: `#/workplaces/${w.id}/features` }, t('features'))),
      deleteButton(`${b}/workplaces/${w.id}`, `${w.firstName} ${w.lastName}`, () => go('#/workplaces')),
    );
  return page;
}

/** the device types in the seeds' words ("Telefon", "Desktop-Client", …) */
const DEVICE_TYPES = ['deskphone', 'desktop', 'mobile', 'tablet', 'universal'];
function deviceTypeOptions() {
  return DEVICE_TYPES.map((x) => ({ value: x, label: t(`device_${x}`) }));
}

function devicesSection(b, w) {
  const out = h('div', { role: 'status' });
  const alert = alertBox();
  // one row per device, the same for those loaded and one just added (regenerate works at once)
  const row = (d) =>
    h(
      'tr',
      { 'data-device': d.sipUsername },
      h('td', {}, t(`device_${d.type}`)),
      h('td', {}, d.model ?? ''),
      h('td', {}, d.sipUsername),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: async () => {
              try {
                const res = await api('POST', `${b}/workplaces/${w.id}/devices/${d.id}/credentials`, {});
                out.replaceChildren(
                  secretBox(
                    `${t('sipUser')} ${res.sipUsername} — ${t('sipPassword')}. ${t('shownOnce')}`,
                    res.sipPassword,
                  ),
                );
              } catch (err) {
                if (err instanceof ApiFailure) showFailure(section, err);
                else throw err;
              }
            },
          },
          t('regenerate'),
        ),
      ),
    );
  const rows = h('tbody', {}, w.devices.map(row));
  const add = h(
    'form',
    { novalidate: true, 'aria-label': t('addDevice') },
    alertBox(),
    h(
      'div',
      { class: 'actions' },
      field({
        name: 'type',
        label: t('deviceType'),
        type: 'select',
        value: 'desktop',
        options: deviceTypeOptions(),
      }),
      field({ name: 'model', label: t('deviceModel'), hint: t('deviceModelHint') }),
      h('button', { type: 'submit', class: 'secondary' }, t('addDevice')),
    ),
  );
  onSubmit(add, async (v) => {
    const res = await api('POST', `${b}/workplaces/${w.id}/devices`, {
      type: v.type,
      ...(v.model ? { model: v.model } : {}),
    });
    const d = res.devices ? res.devices.at(-1) : res;
    out.replaceChildren(
      secretBox(
        `${t('sipUser')} ${d.sipUsername} — ${t('sipPassword')}. ${t('shownOnce')}`,
        d.sipPassword ?? '',
      ),
    );
    rows.append(row(d));
    add.model.value = '';
  });
  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'dev-h' },
    h('h2', { id: 'dev-h' }, t('devices')),
    alert,
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('deviceType'), t('deviceModel'), t('sipUser'), ''].map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      rows,
    ),
    add,
    out,
  );
  return section;
}

function inviteSection(b, w) {
  const out = h('div', { role: 'status' });
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'inv-h' },
    h('h2', { id: 'inv-h' }, t('inviteEmployee')),
    alertBox(),
    h('div', { class: 'grid' }, field({ name: 'email', label: t('email'), type: 'email', value: w.email })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, t('invite'))),
    out,
  );
  onSubmit(form, async (v) => {
    const res = await api('POST', `${b}/accounts`, {
      role: 'employee',
      workplaceId: w.id,
      ...(v.email ? { email: v.email } : {}),
    });
    out.replaceChildren(linkBox(res));
  });
  return form;
}

function linkBox(res) {
  return h(
    'div',
    {},
    secretBox(`${t('invitationLink')} (${res.account.username})`, res.link),
    h('p', {}, res.emailed ? t('emailed') : t('notEmailed')),
  );
}

function deleteButton(url, label, after) {
  const alert = alertBox();
  return h(
    'div',
    { class: 'actions' },
    alert,
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!confirm(t('confirmDelete', { x: label }))) return;
          try {
            await api('DELETE', url);
            toast(t('deleted'));
            after();
          } catch (err) {
            if (err instanceof ApiFailure) {
              alert.textContent = tm(err.message);
              alert.focus();
            } else throw err;
          }
        },
      },
      `${t('delete')}: ${label}`,
    ),
  );
}

// ---------- groups ----------

export async function groupsPage({ session, go }) {
  const b = base(session);
  const groups = await api('GET', `${b}/groups`);
  const sections = await Promise.all(
    groups.map(async (g) => {
      let free = [];
      try {
        free = (await api('GET', `${b}/groups/${g.id}/available-numbers?limit=10`)).numbers;
      } catch {
        /* none */
      }
      const areas = await api('GET', `${b}/groups/${g.id}/areas`).catch(() => []);
      // another number range: the whole list is sent, errors name numberRanges.<i>.first/last
      const n = g.numberRanges.length;
      const rangeForm = h(
        'form',
        { class: 'actions', novalidate: true, 'data-add-range': g.name },
        alertBox(),
        field({ name: 'first', path: `numberRanges.${n}.first`, label: `${t('first')} (${g.name})` }),
        field({ name: 'last', path: `numberRanges.${n}.last`, label: `${t('last')} (${g.name})` }),
        h('p', { class: 'field-error', 'data-error-for': 'numberRanges' }),
        h('button', { type: 'submit', class: 'secondary' }, t('addRange')),
      );
      onSubmit(rangeForm, async (v) => {
        await api('PATCH', `${b}/groups/${g.id}`, {
          numberRanges: [...g.numberRanges, { first: v.first, last: v.last }],
        });
        toast(t('saved'));
        go('#/groups');
      });
      // the location: its postal address (named in every emergency call's record) and networks
      const a = g.address ?? {};
      const locationForm = h(
        'form',
        { class: 'actions', novalidate: true, 'data-location': g.name },
        alertBox(),
        field({ name: 'street', path: 'address.street', label: t('street'), value: a.street ?? '' }),
        field({
          name: 'postalCode',
          path: 'address.postalCode',
          label: t('postalCode'),
          value: a.postalCode ?? '',
        }),
        field({ name: 'city', path: 'address.city', label: t('city'), value: a.city ?? '' }),
        field({ name: 'country', path: 'address.country', label: t('country'), value: a.country ?? 'DE' }),
        field({ name: 'networks', label: t('networks'), value: (g.networks ?? []).join(', ') }),
        h('button', { type: 'submit', class: 'secondary' }, t('saveLocation')),
      );
      onSubmit(locationForm, async (v) => {
        const networks = String(v.networks ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
        await api('PATCH', `${b}/groups/${g.id}`, {
          address: { street: v.street, postalCode: v.postalCode, city: v.city, country: v.country },
          networks,
        });
        toast(t('saved'));
        go('#/groups');
      });
      const areaForm = h(
        'form',
        { class: 'actions', novalidate: true },
        alertBox(),
        field({ name: 'name', label: `${t('newArea')} (${g.name})` }),
        h('button', { type: 'submit', class: 'secondary' }, t('create')),
      );
      onSubmit(areaForm, async (v) => {
        await api('POST', `${b}/groups/${g.id}/areas`, { name: v.name });
        toast(t('created'));
        go('#/groups');
      });
      return h(
        'section',
        { class: 'card', 'aria-labelledby': `g-${g.id}` },
        h(
          'h2',
          { id: `g-${g.id}` },
          g.name,
          g.isDefault ? h('span', { class: 'badge' }, ` ${t('default')}`) : null,
        ),
        h('p', {}, `${t('timezone')}: ${g.timezone}`),
        h(
          'p',
          {},
          `${t('numberRanges')}: `,
          g.numberRanges.map((r) => `${r.first} – ${r.last}`).join(', ') || t('none'),
        ),
        h('p', {}, `${t('freeNumbers')}: `, free.join(', ') || t('none')),
        h(
          'p',
          {},
          `${t('locationAddress')}: `,
          g.address
            ? `${g.address.street}, ${g.address.postalCode} ${g.address.city}, ${g.address.country}`
            : t('none'),
        ),
        rangeForm,
        locationForm,
        h(
          'div',
          {},
          h('h3', {}, t('areas')),
          areas.length === 0
            ? h('p', { class: 'muted' }, t('none'))
            : h(
                'ul',
                {},
                areas.map((a) =>
                  h(
                    'li',
                    {},
                    a.name,
                    ' ',
                    deleteButton(`${b}/groups/${g.id}/areas/${a.id}`, a.name, () => go('#/groups')),
                  ),
                ),
              ),
          areaForm,
        ),
      );
    }),
  );
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'ng' },
    h('h2', { id: 'ng' }, t('newGroup')),
    alertBox(),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'name', label: t('name') }),
      field({ name: 'timezone', label: t('timezone'), value: 'Europe/Berlin' }),
      field({ name: 'first', path: 'numberRanges.0.first', label: t('first'), attrs: { inputmode: 'tel' } }),
      field({ name: 'last', path: 'numberRanges.0.last', label: t('last'), attrs: { inputmode: 'tel' } }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('create'))),
  );
  onSubmit(form, async (v) => {
    await api('POST', `${b}/groups`, {
      name: v.name,
      timezone: v.timezone,
      numberRanges: v.first || v.last ? [{ first: v.first, last: v.last }] : [],
    });
    toast(t('created'));
    go('#/groups');
  });
  return h('div', {}, h('h1', {}, t('groups')), ...sections, form);
}

// ---------- blocking profiles ----------

export async function blockingPage({ session, go }) {
  const b = base(session);
  const profiles = await api('GET', `${b}/blocking-profiles`);
  const rows = profiles.map((p) =>
    h(
      'tr',
      {},
      h('td', {}, p.name),
      h('td', {}, p.incoming.join(', ')),
      h('td', {}, p.outgoing.join(', ')),
      h('td', {}, p.forwarded.join(', ')),
      h(
        'td',
        {},
        deleteButton(`${b}/blocking-profiles/${p.id}`, p.name, () => go('#/blocking')),
      ),
    ),
  );
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'nb' },
    h('h2', { id: 'nb' }, t('newProfile')),
    alertBox(),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'name', label: t('name') }),
      field({ name: 'incoming', label: t('incoming'), hint: t('prefixHint') }),
      field({ name: 'outgoing', label: t('outgoing'), hint: t('prefixHint') }),
      field({ name: 'forwarded', label: t('forwarded'), hint: t('prefixHint') }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('create'))),
  );
  onSubmit(form, async (v) => {
    await api('POST', `${b}/blocking-profiles`, {
      name: v.name,
      incoming: splitList(v.incoming),
      outgoing: splitList(v.outgoing),
      forwarded: splitList(v.forwarded),
    });
    toast(t('created'));
    go('#/blocking');
  });
  return h(
    'div',
    {},
    h('h1', {}, t('blocking')),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('name'), t('incoming'), t('outgoing'), t('forwarded'), ''].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      h('tbody', {}, rows),
    ),
    form,
  );
}

// ---------- Anywhere portals ----------

export async function portalsPage({ session, go }) {
  const b = base(session);
  const [portals, groups, profiles] = await Promise.all([
    api('GET', `${b}/anywhere-portals`),
    api('GET', `${b}/groups`),
    api('GET', `${b}/blocking-profiles`),
  ]);
  const areasOf = {};
  await Promise.all(
    groups.map(async (g) => {
      areasOf[g.id] = await api('GET', `${b}/groups/${g.id}/areas`).catch(() => []);
    }),
  );
  const levelOptions = [
    { value: 'company', label: t('levelCompany') },
    { value: 'group', label: t('levelGroup') },
  ];
  const cards = portals.map((p) => {
    const form = h(
      'form',
      { class: 'card', novalidate: true, 'aria-labelledby': `p-${p.id}`, dataset: { portal: p.number } },
      h('h2', { id: `p-${p.id}` }, `${p.displayFirstName} ${p.displayLastName} — ${p.number}`),
      alertBox(),
      h(
        'div',
        { class: 'grid' },
        field({
          name: 'silentMode',
          label: t('silentMode'),
          type: 'checkbox',
          value: p.silentMode,
          hint: t('silentHint'),
        }),
        field({ name: 'pinRequired', label: t('pinRequired'), type: 'checkbox', value: p.pinRequired }),
        field({ name: 'level', label: t('level'), type: 'select', value: p.level, options: levelOptions }),
        field({
          name: 'areaId',
          label: t('area'),
          type: 'select',
          value: p.areaId ?? '',
          options: opt(areasOf[p.groupId] ?? []),
        }),
        field({
          name: 'blockingProfileId',
          label: t('blockingProfileOne'),
          type: 'select',
          value: p.blockingProfileId ?? '',
          options: opt(profiles),
        }),
      ),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
    );
    onSubmit(form, async (v) => {
      await api('PATCH', `${b}/anywhere-portals/${p.id}`, {
        silentMode: v.silentMode,
        pinRequired: v.pinRequired,
        level: v.level,
        areaId: v.areaId || null,
        blockingProfileId: v.blockingProfileId || null,
      });
      toast(t('saved'));
    });
    return form;
  });
  const groupId = (groups.find((g) => g.isDefault) ?? groups[0])?.id;
  const create = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'np' },
    h('h2', { id: 'np' }, t('newPortal')),
    alertBox(),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'displayFirstName', label: t('displayFirstName') }),
      field({ name: 'displayLastName', label: t('displayLastName') }),
      field({
        name: 'groupId',
        label: t('group'),
        type: 'select',
        value: groupId,
        options: opt(groups, (g) => g.name, false),
      }),
      field({ name: 'number', label: t('number'), attrs: { inputmode: 'tel' } }),
      field({ name: 'extension', label: t('extension') }),
      field({ name: 'level', label: t('level'), type: 'select', value: 'company', options: levelOptions }),
      field({ name: 'silentMode', label: t('silentMode'), type: 'checkbox', value: false }),
      field({ name: 'pinRequired', label: t('pinRequired'), type: 'checkbox', value: true }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('create'))),
  );
  onSubmit(create, async (v) => {
    await api('POST', `${b}/anywhere-portals`, {
      displayFirstName: v.displayFirstName,
      displayLastName: v.displayLastName,
      groupId: v.groupId,
      number: v.number,
      ...(v.extension ? { extension: v.extension } : {}),
      level: v.level,
      silentMode: v.silentMode,
      pinRequired: v.pinRequired,
    });
    toast(t('created'));
    go('#/portals');
  });
  return h('div', {}, h('h1', {}, t('portals')), ...cards, create);
}

// ---------- accounts ----------

export async function accountsPage({ session, go }) {
  const b = base(session);
  const [accounts, workplaces] = await Promise.all([
    api('GET', `${b}/accounts`),
    api('GET', `${b}/workplaces`),
  ]);
  const out = h('div', { role: 'status' });
  const wpName = (id) => {
    const w = workplaces.find((x) => x.id === id);
    return w ? `${w.firstName} ${w.lastName}` : '';
  };
  const rows = accounts.map((a) =>
    h(
      'tr',
      {},
      h('td', {}, a.username),
      h('td', {}, a.email ?? ''),
      h('td', {}, t(a.role)),
      h('td', {}, wpName(a.workplaceId)),
      h('td', {}, h('span', { class: 'badge' }, t(a.status))),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: async () => {
              const res = await api('POST', `${b}/accounts/${a.id}/reset-link`);
              out.replaceChildren(linkBox(res));
              out.querySelector('[data-secret]')?.scrollIntoView();
            },
          },
          t('resetLink'),
        ),
        a.id === session.account.id
          ? null
          : deleteButton(`${b}/accounts/${a.id}`, a.username, () => go('#/accounts')),
      ),
    ),
  );
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'na' },
    h('h2', { id: 'na' }, t('newAccount')),
    alertBox(),
    h(
      'div',
      { class: 'grid' },
      field({
        name: 'role',
        label: t('role'),
        type: 'select',
        value: 'employee',
        options: [
          { value: 'employee', label: t('employee') },
          { value: 'admin', label: t('admin') },
        ],
      }),
      field({
        name: 'workplaceId',
        label: t('workplace'),
        type: 'select',
        value: '',
        options: opt(workplaces, (w) => `${w.firstName} ${w.lastName} (${w.username})`),
      }),
      field({ name: 'username', label: t('username') }),
      field({ name: 'email', label: t('email'), type: 'email' }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('invite'))),
  );
  onSubmit(form, async (v) => {
    const res = await api('POST', `${b}/accounts`, {
      role: v.role,
      ...(v.workplaceId ? { workplaceId: v.workplaceId } : {}),
      ...(v.username ? { username: v.username } : {}),
      ...(v.email ? { email: v.email } : {}),
    });
    out.replaceChildren(linkBox(res));
  });
  return h(
    'div',
    {},
    h('h1', {}, t('accounts')),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('username'), t('email'), t('role'), t('workplace'), t('status'), ''].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      h('tbody', {}, rows),
    ),
    out,
    form,
  );
}

// ---------- CSV import ----------

export async function importPage({ session }) {
  const b = base(session);
  const groups = await api('GET', `${b}/groups`);
  const result = h('div', { tabindex: '-1' });
  const example = [
    'firstName,lastName,email,username,groupId,number',
    ...groups
      .slice(0, 1)
      .map((g) => `Max,Muster,max@example.com,max.muster,${g.id},${g.numberRanges[0]?.first ?? ''}`),
  ].join('\n');
  const file = field({ name: 'file', label: t('csvFile'), type: 'file', attrs: { accept: '.csv,text/csv' } });
  const text = field({
    name: 'csv',
    label: t('csvText'),
    type: 'textarea',
    value: example,
    hint: t('csvHint'),
  });
  file.querySelector('input').addEventListener('change', async (e) => {
    const f = e.target.files?.[0];
    if (f) text.querySelector('textarea').value = decodeCsv(await f.arrayBuffer());
  });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    alertBox(),
    file,
    text,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('checkImport'))),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    try {
      const res = await api('POST', `${b}/workplaces/import`, text.querySelector('textarea').value, {
        contentType: 'text/csv',
      });
      result.replaceChildren(
        h('p', { class: 'notice', role: 'status' }, t('imported', { n: res.imported })),
        h('p', {}, t('shownOnce')),
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [t('username'), t('number'), t('sipUser'), t('sipPassword')].map((x) =>
                h('th', { scope: 'col' }, x),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            res.workplaces.flatMap((w) =>
              (w.devices.length ? w.devices : [{}]).map((d) =>
                h(
                  'tr',
                  {},
                  h('td', {}, w.username),
                  h('td', {}, w.number),
                  h('td', {}, d.sipUsername ?? ''),
                  h('td', { class: 'secret' }, d.sipPassword ?? ''),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      const issues = err.body?.issues ?? [];
      const rowOf = (p) => {
        const m = /^rows\[(\d+)\]\.?(.*)$/.exec(p);
        return m ? [m[1], m[2]] : ['', p];
      };
      result.replaceChildren(
        h('div', { class: 'alert', role: 'alert' }, issues.length ? t('importErrors') : tm(err.message)),
        issues.length
          ? h(
              'table',
              { 'data-import-errors': '' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  [t('row'), t('field'), t('message')].map((x) => h('th', { scope: 'col' }, x)),
                ),
              ),
              h(
                'tbody',
                {},
                issues.map((i) => {
                  const [row, f] = rowOf(i.path);
                  return h('tr', {}, h('td', {}, row), h('td', {}, f), h('td', {}, tm(i.message)));
                }),
              ),
            )
          : null,
      );
    }
    result.focus();
  });
  return h('div', {}, h('h1', {}, t('import')), form, result);
}

/**
 * A CSV file as text: UTF-8 when it is (with or without a byte order mark), else Windows-1252 —
 * what Excel writes on a German Windows when "CSV" is chosen. The browser's File.text() would
 * read the latter as UTF-8 and lose every umlaut.
 */
export function decodeCsv(buffer) {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buffer);
  } catch {
    return new TextDecoder('windows-1252').decode(buffer);
  }
}

// ---------- templates ----------

export async function templatesPage({ session, go }) {
  const b = base(session);
  const [templates, groups, profiles] = await Promise.all([
    api('GET', `${b}/templates`),
    api('GET', `${b}/groups`),
    api('GET', `${b}/blocking-profiles`),
  ]);
  const name = (list, id) => list.find((x) => x.id === id)?.name ?? '';
  const rows = templates.map((tp) =>
    h(
      'tr',
      {},
      h('td', {}, tp.name),
      h('td', {}, name(groups, tp.groupId)),
      h('td', {}, name(profiles, tp.blockingProfileId)),
      h('td', {}, tp.devices.map((d) => t(`device_${d.type}`)).join(', ')),
      h('td', {}, tp.voiceboxEnabled === undefined ? '' : tp.voiceboxEnabled ? t('on') : t('off')),
      h(
        'td',
        {},
        deleteButton(`${b}/templates/${tp.id}`, tp.name, () => go('#/templates')),
      ),
    ),
  );
  const deviceOptions = [
    { value: '', label: t('noDevice') },
    // (a template has no desk phone: its model is the workplace's own)
    ...deviceTypeOptions().filter((o) => o.value !== 'deskphone'),
  ];
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'nt' },
    h('h2', { id: 'nt' }, t('newTemplate')),
    alertBox(),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'name', label: t('name') }),
      field({ name: 'groupId', label: t('group'), type: 'select', value: '', options: opt(groups) }),
      field({
        name: 'blockingProfileId',
        label: t('blockingProfileOne'),
        type: 'select',
        value: '',
        options: opt(profiles),
      }),
      field({
        name: 'language',
        label: t('languageField'),
        type: 'select',
        value: '',
        options: [
          { value: '', label: t('none') },
          { value: 'de', label: 'Deutsch' },
          { value: 'en', label: 'English' },
        ],
      }),
      field({
        name: 'deviceType',
        path: 'devices',
        label: t('device'),
        type: 'select',
        value: '',
        options: deviceOptions,
      }),
      field({ name: 'voiceboxEnabled', label: t('voiceboxEnabled'), type: 'checkbox', value: true }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('create'))),
  );
  onSubmit(form, async (v) => {
    await api('POST', `${b}/templates`, {
      name: v.name,
      ...(v.groupId ? { groupId: v.groupId } : {}),
      ...(v.blockingProfileId ? { blockingProfileId: v.blockingProfileId } : {}),
      ...(v.language ? { language: v.language } : {}),
      devices: v.deviceType ? [{ type: v.deviceType }] : [],
      voiceboxEnabled: v.voiceboxEnabled,
    });
    toast(t('created'));
    go('#/templates');
  });
  return h(
    'div',
    {},
    h('h1', {}, t('templates')),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [t('name'), t('group'), t('blockingProfileOne'), t('devices'), t('voicebox'), ''].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      h('tbody', {}, rows),
    ),
    form,
  );
}
