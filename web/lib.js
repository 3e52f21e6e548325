// DOM helpers (no innerHTML anywhere: every text is set as text), the API client, form errors.
import { t, tm } from './i18n.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let csrfToken = '';
export function setCsrf(token) {
  csrfToken = token || '';
}

export class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** fetch with the session cookie; JSON in, JSON out; state changes carry X-CSRF-Token. */
export async function api(method, path, body, opts = {}) {
  const headers = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let payload;
  if (body !== undefined) {
    if (opts.contentType) {
      headers['content-type'] = opts.contentType;
      payload = body;
    } else {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiFailure(0, { message: t('networkError') });
  }
  if (res.status === 204) return undefined;
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    if (res.status === 401 && !opts.allow401) window.dispatchEvent(new CustomEvent('pbx:signed-out'));
    throw new ApiFailure(res.status, typeof data === 'object' ? data : { message: String(data) });
  }
  return data;
}

export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = '';
  // a fresh text node makes screen readers announce the same message again
  setTimeout(() => {
    el.textContent = text;
  }, 30);
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.textContent = '';
  }, 6000);
}

let seq = 0;
/**
 * A labelled input with its hint and error line. `path` is the API field path whose issues
 * are shown here (defaults to name).
 */
export function field({
  name,
  label,
  type = 'text',
  value,
  options,
  hint,
  path,
  required,
  autocomplete,
  attrs = {},
}) {
  const id = `f${++seq}-${name.replace(/[^\w-]/g, '_')}`;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(' ');
  let control;
  if (type === 'select') {
    control = h(
      'select',
      { id, name, 'aria-describedby': describedBy, ...attrs },
      options.map((o) =>
        h(
          'option',
          { value: o.value, selected: String(o.value) === String(value ?? '') ? 'selected' : undefined },
          o.label,
        ),
      ),
    );
  } else if (type === 'textarea') {
    control = h('textarea', { id, name, rows: 6, 'aria-describedby': describedBy, ...attrs });
    control.value = value ?? '';
  } else if (type === 'checkbox') {
    control = h('input', {
      id,
      name,
      type,
      checked: Boolean(value),
      'aria-describedby': describedBy,
      ...attrs,
    });
  } else {
    control = h('input', {
      id,
      name,
      type,
      value: value ?? '',
      required,
      autocomplete,
      'aria-describedby': describedBy,
      ...attrs,
    });
  }
  control.dataset.path = path ?? name;
  const err = h('p', { id: errId, class: 'field-error', 'data-error-for': path ?? name });
  if (type === 'checkbox') {
    return h(
      'div',
      { class: 'field check' },
      control,
      h('label', { for: id }, label),
      hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
      err,
    );
  }
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    err,
  );
}

/** Clears the errors of a form (or any container). */
export function clearErrors(root) {
  root.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  root.querySelectorAll('.field-error').forEach((el) => (el.textContent = ''));
  root.querySelectorAll('.alert').forEach((el) => (el.textContent = ''));
}

/**
 * Shows an API failure in a form: each issue at its field (the longest matching data-path),
 * the rest and the summary in the form's alert; focus moves to the first bad field.
 */
export function showFailure(root, failure) {
  clearErrors(root);
  const alert = root.querySelector('.alert');
  const issues = failure?.body?.issues || [];
  const errors = [...root.querySelectorAll('[data-error-for]')];
  const leftover = [];
  let first;
  for (const issue of issues) {
    const path = issue.path || '';
    const match = errors
      .filter((e) => path === e.dataset.errorFor || path.startsWith(e.dataset.errorFor + '.'))
      .sort((a, b) => b.dataset.errorFor.length - a.dataset.errorFor.length)[0];
    if (!match) {
      leftover.push(`${path}: ${tm(issue.message)}`);
      continue;
    }
    match.textContent = [match.textContent, tm(issue.message)].filter(Boolean).join('; ');
    const control = root.querySelector(`[data-path="${CSS.escape(match.dataset.errorFor)}"]`);
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      first ??= control;
    }
  }
  if (alert) {
    const summary =
      issues.length > 0 ? t('errorsBelow') : failure.status === 403 ? t('forbidden') : tm(failure.message);
    alert.textContent = [summary, ...leftover].join(' ');
  }
  (first || alert)?.focus?.();
}

export function alertBox() {
  return h('div', { class: 'alert', role: 'alert', tabindex: '-1' });
}

/** Reads the named controls of a form as strings / booleans. */
export function values(form) {
  const out = {};
  for (const el of form.querySelectorAll('input[name], select[name], textarea[name]')) {
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'radio') {
      if (el.checked) out[el.name] = el.value;
    } else out[el.name] = el.value.trim();
  }
  return out;
}

/** Runs a submit handler with the button disabled and failures shown in the form. */
export function onSubmit(form, handler) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    try {
      clearErrors(form);
      await handler(values(form));
    } catch (err) {
      if (err instanceof ApiFailure) showFailure(form, err);
      else throw err;
    } finally {
      if (button) button.disabled = false;
    }
  });
}

export function secretBox(label, value) {
  return h(
    'div',
    { class: 'notice' },
    h('p', {}, label),
    h('p', { class: 'secret', 'data-secret': '' }, value),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(value);
            toast(t('copied'));
          } catch {
            /* no clipboard */
          }
        },
      },
      t('copy'),
    ),
  );
}

export function fmtTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(document.documentElement.lang === 'en' ? 'en-GB' : 'de-DE');
}
