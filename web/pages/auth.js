// Sign-in, forgotten password, set password (invitation and reset links).
import { t, tm } from '../i18n.js';
import { alertBox, api, ApiFailure, field, h, onSubmit } from '../lib.js';

export async function loginPage({ onSignedIn }) {
  const alert = alertBox();
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    alert,
    field({ name: 'login', label: t('login'), autocomplete: 'username', required: true }),
    field({
      name: 'password',
      label: t('password'),
      type: 'password',
      autocomplete: 'current-password',
      required: true,
    }),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, t('signIn')),
      h('a', { href: '#/forgot' }, t('forgot')),
    ),
  );
  onSubmit(form, async (v) => {
    try {
      const session = await api(
        'POST',
        '/v1/auth/login',
        { login: v.login, password: form.password.value },
        { allow401: true },
      );
      await onSignedIn(session);
    } catch (err) {
      if (err instanceof ApiFailure && (err.status === 401 || err.status === 429)) {
        alert.textContent = err.status === 401 ? t('wrongLogin') : t('tooMany', { s: '30+' });
        form.password.value = '';
        alert.focus();
        return;
      }
      throw err;
    }
  });
  return h('div', { class: 'login' }, h('h1', {}, t('signInTitle')), form);
}

export async function forgotPage() {
  const alert = alertBox();
  const done = h('div', { role: 'status' });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    alert,
    field({ name: 'login', label: t('login'), autocomplete: 'username' }),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, t('send')),
      h('a', { href: '#/login' }, t('back')),
    ),
  );
  onSubmit(form, async (v) => {
    await api('POST', '/v1/auth/forgot-password', { login: v.login });
    done.replaceChildren(h('p', { class: 'notice' }, t('forgotSent')));
  });
  return h('div', { class: 'login' }, h('h1', {}, t('forgotTitle')), form, done);
}

export async function setPasswordPage({ params }) {
  const token = params.get('token') || '';
  const alert = alertBox();
  const done = h('div', { role: 'status' });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    alert,
    field({
      name: 'password',
      label: t('newPassword'),
      type: 'password',
      autocomplete: 'new-password',
      hint: t('passwordHint'),
    }),
    field({ name: 'repeat', label: t('repeatPassword'), type: 'password', autocomplete: 'new-password' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('save'))),
  );
  onSubmit(form, async () => {
    const password = form.password.value;
    if (password !== form.repeat.value) {
      throw new ApiFailure(400, {
        message: t('mismatch'),
        issues: [{ path: 'repeat', message: t('mismatch') }],
      });
    }
    try {
      await api('POST', '/v1/auth/password', { token, password });
    } catch (err) {
      if (err instanceof ApiFailure && err.body?.issues?.some((i) => i.path === 'token')) {
        alert.textContent = tm('this link is invalid, used or expired');
        alert.focus();
        return;
      }
      throw err;
    }
    form.remove();
    done.replaceChildren(
      h('p', { class: 'notice' }, t('passwordSet')),
      h('a', { class: 'button', href: '#/login' }, t('toSignIn')),
    );
    done.querySelector('a').focus();
  });
  return h('div', { class: 'login' }, h('h1', {}, t('setPasswordTitle')), form, done);
}
