// An employee's own settings (also opened by admins for any workplace): forwarding, parallel
// ringing, caller ID, voicebox and PIN; voicebox messages played in the browser and deleted.
import { t } from '../i18n.js';
import { alertBox, api, ApiFailure, field, fmtTime, h, onSubmit, toast } from '../lib.js';
import { availabilityCard, selectiveCard } from './schedules.js';

export function workplaceUrl(session, match) {
  const wid = match?.[1] && match[0].startsWith('/workplaces') ? match[1] : session.account.workplaceId;
  return `/v1/companies/${session.account.companyId}/workplaces/${wid}`;
}

const KINDS = [
  ['always', 'fwdAlways'],
  ['busy', 'fwdBusy'],
  ['noAnswer', 'fwdNoAnswer'],
  ['unreachable', 'fwdUnreachable'],
];

export async function settingsPage({ session, match }) {
  const url = workplaceUrl(session, match);
  const [w, fwd, par, cid, vb, avForm, selForm] = await Promise.all([
    api('GET', url),
    api('GET', `${url}/forwarding`),
    api('GET', `${url}/parallel-ringing`),
    api('GET', `${url}/caller-id`),
    api('GET', `${url}/voicebox`),
    availabilityCard(session, url),
    selectiveCard(url),
  ]);

  // forwarding: four kinds, each on/off with target voicebox or a number
  const fwdForm = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'fwd-h', 'data-form': 'forwarding' },
    h('h2', { id: 'fwd-h' }, t('forwarding')),
    alertBox(),
    ...KINDS.map(([kind, label]) => {
      const rule = fwd[kind];
      const isNumber = rule.target && rule.target !== 'voicebox';
      const radioName = `${kind}-target`;
      const idV = `${kind}-tv`,
        idN = `${kind}-tn`;
      return h(
        'fieldset',
        {},
        h('legend', {}, t(label)),
        field({
          name: `${kind}-enabled`,
          path: `${kind}.enabled`,
          label: t('enabled'),
          type: 'checkbox',
          value: rule.enabled,
        }),
        h(
          'div',
          { role: 'radiogroup', 'aria-label': t('target'), class: 'actions' },
          h('input', { type: 'radio', id: idV, name: radioName, value: 'voicebox', checked: !isNumber }),
          h('label', { for: idV }, t('toVoicebox')),
          h('input', { type: 'radio', id: idN, name: radioName, value: 'number', checked: isNumber }),
          h('label', { for: idN }, t('toNumber')),
        ),
        field({
          name: `${kind}-number`,
          path: `${kind}.target`,
          label: t('targetNumber'),
          value: isNumber ? rule.target.number : '',
          attrs: { inputmode: 'tel', autocomplete: 'tel' },
        }),
        kind === 'noAnswer'
          ? field({
              name: 'noAnswer-ringSeconds',
              path: 'noAnswer.ringSeconds',
              label: t('ringSeconds'),
              type: 'number',
              value: rule.ringSeconds,
              attrs: { min: 5, max: 120 },
            })
          : null,
      );
    }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
  );
  onSubmit(fwdForm, async (v) => {
    const body = {};
    for (const [kind] of KINDS) {
      const target = v[`${kind}-target`] === 'number' ? { number: v[`${kind}-number`] } : 'voicebox';
      body[kind] = { enabled: v[`${kind}-enabled`], target };
      if (kind === 'noAnswer' && v['noAnswer-ringSeconds'])
        body[kind].ringSeconds = Number(v['noAnswer-ringSeconds']);
    }
    await api('PUT', `${url}/forwarding`, body);
    toast(t('saved'));
  });

  // parallel ringing
  const parForm = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'par-h' },
    h('h2', { id: 'par-h' }, t('parallel')),
    alertBox(),
    field({ name: 'enabled', label: t('enabled'), type: 'checkbox', value: par.enabled }),
    h(
      'fieldset',
      {},
      h('legend', {}, t('parallelNumbers')),
      h(
        'div',
        { class: 'grid' },
        [0, 1, 2, 3, 4].map((i) => {
          const number = par.numbers[i] ?? '';
          const opts = par.options?.[number] ?? {};
          return h(
            'div',
            { class: 'parallel-number' },
            field({
              name: `n${i}`,
              path: `numbers.${i}`,
              label: `${t('number')} ${i + 1}`,
              value: number,
              attrs: { inputmode: 'tel' },
            }),
            field({
              name: `d${i}`,
              path: `numbers.${i}.delaySeconds`,
              label: `${t('ringDelay')} ${i + 1}`,
              type: 'number',
              value: opts.delaySeconds ?? '',
              attrs: { min: 0, max: 60 },
            }),
            field({
              name: `q${i}`,
              label: `${t('notWhileOnCall')} ${i + 1}`,
              type: 'checkbox',
              value: opts.notWhileOnCall ?? false,
            }),
          );
        }),
      ),
      h('p', { class: 'field-error', 'data-error-for': 'numbers' }),
    ),
    field({
      name: 'answerConfirmation',
      label: t('answerConfirmation'),
      type: 'checkbox',
      value: par.answerConfirmation,
    }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
  );
  onSubmit(parForm, async (v) => {
    const numbers = [0, 1, 2, 3, 4]
      .filter((i) => v[`n${i}`])
      .map((i) =>
        v[`d${i}`] || v[`q${i}`]
          ? {
              number: v[`n${i}`],
              ...(v[`d${i}`] ? { delaySeconds: Number(v[`d${i}`]) } : {}),
              ...(v[`q${i}`] ? { notWhileOnCall: true } : {}),
            }
          : v[`n${i}`],
      );
    await api('PUT', `${url}/parallel-ringing`, {
      enabled: v.enabled,
      numbers,
      answerConfirmation: v.answerConfirmation,
    });
    toast(t('saved'));
  });

  // caller ID
  const cidForm = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'cid-h' },
    h('h2', { id: 'cid-h' }, t('callerId')),
    alertBox(),
    h(
      'div',
      { role: 'radiogroup', 'aria-labelledby': 'cid-h', class: 'actions' },
      h('input', {
        type: 'radio',
        id: 'cid-n',
        name: 'presentation',
        value: 'number',
        checked: cid.presentation === 'number',
      }),
      h('label', { for: 'cid-n' }, t('showNumber')),
      h('input', {
        type: 'radio',
        id: 'cid-a',
        name: 'presentation',
        value: 'anonymous',
        checked: cid.presentation === 'anonymous',
      }),
      h('label', { for: 'cid-a' }, t('anonymous')),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
  );
  onSubmit(cidForm, async (v) => {
    await api('PUT', `${url}/caller-id`, { presentation: v.presentation });
    toast(t('saved'));
  });

  // voicebox + PIN
  const vbForm = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'vb-h' },
    h('h2', { id: 'vb-h' }, t('voicebox')),
    alertBox(),
    field({ name: 'enabled', label: t('voiceboxEnabled'), type: 'checkbox', value: vb.enabled }),
    field({ name: 'mail', label: t('voiceboxMail'), type: 'checkbox', value: vb.mail }),
    h('p', { class: 'muted' }, vb.pinSet ? t('pinSet') : t('pinNotSet')),
    vb.locked
      ? h(
          'div',
          { class: 'alert', role: 'alert' },
          t('pinLocked'),
          ' ',
          session.account.role === 'admin'
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  onclick: async (e) => {
                    await api('DELETE', `${url}/voicebox/lock`);
                    e.target.parentElement.remove();
                    toast(t('unlocked'));
                  },
                },
                t('unlockPin'),
              )
            : null,
        )
      : null,
    h(
      'div',
      { class: 'grid' },
      field({
        name: 'pin',
        label: t('pin'),
        type: 'password',
        hint: t('pinHint'),
        autocomplete: 'off',
        attrs: { inputmode: 'numeric' },
      }),
      field({
        name: 'pinRepeat',
        label: t('pinRepeat'),
        type: 'password',
        autocomplete: 'off',
        attrs: { inputmode: 'numeric' },
      }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
  );
  onSubmit(vbForm, async () => {
    const pin = vbForm.pin.value;
    if (pin && pin !== vbForm.pinRepeat.value)
      throw new ApiFailure(400, { issues: [{ path: 'pinRepeat', message: t('pinMismatch') }] });
    await api('PUT', `${url}/voicebox`, {
      enabled: vbForm.enabled.checked,
      mail: vbForm.mail.checked,
      ...(pin ? { pin } : {}),
    });
    vbForm.pin.value = '';
    vbForm.pinRepeat.value = '';
    toast(t('saved'));
  });

  const title = match?.[0]?.startsWith('/workplaces')
    ? t('settingsOf', { x: `${w.firstName} ${w.lastName}` })
    : t('mySettings');
  return h(
    'div',
    {},
    h('h1', {}, title),
    h('p', { class: 'muted' }, `${w.number} · ${t('extension')} ${w.extension}`),
    avForm,
    fwdForm,
    selForm,
    parForm,
    cidForm,
    vbForm,
  );
}

export async function voiceboxPage({ session, match, go }) {
  const url = workplaceUrl(session, match);
  const messages = await api('GET', `${url}/voicebox/messages`);
  const rows = messages.map((m) =>
    h(
      'tr',
      { 'data-message': m.id },
      h('td', {}, m.callerNumber || '—'),
      h('td', {}, fmtTime(m.receivedAt)),
      h('td', {}, `${m.durationSeconds} s`),
      h('td', {}, t(m.status === 'new' ? 'statusNew' : m.status === 'heard' ? 'statusHeard' : 'statusSaved')),
      h(
        'td',
        {},
        (() => {
          const audio = h('audio', {
            controls: true,
            preload: 'none',
            src: `${url}/voicebox/messages/${m.id}/audio`,
            'aria-label': `${t('play')}: ${m.callerNumber}`,
          });
          audio.addEventListener(
            'play',
            () => {
              if (m.status === 'new')
                api('PATCH', `${url}/voicebox/messages/${m.id}`, { status: 'heard' }).catch(() => undefined);
            },
            { once: true },
          );
          return audio;
        })(),
      ),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: async () => {
              if (!confirm(t('confirmDelete', { x: `${m.callerNumber} ${fmtTime(m.receivedAt)}` }))) return;
              await api('DELETE', `${url}/voicebox/messages/${m.id}`);
              toast(t('deleted'));
              go(location.hash);
            },
          },
          t('delete'),
        ),
      ),
    ),
  );
  return h(
    'div',
    {},
    h('h1', {}, t('myVoicebox')),
    messages.length === 0
      ? h('p', {}, t('noMessages'))
      : h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [t('from'), t('received'), t('duration'), t('status'), t('play'), ''].map((x) =>
                h('th', { scope: 'col' }, x),
              ),
            ),
          ),
          h('tbody', {}, rows),
        ),
  );
}
