// Live calls (event stream) and call lists: filled in once the event routes exist.
import { t } from '../i18n.js';
import { h } from '../lib.js';

export async function livePage() {
  return h('div', {}, h('h1', {}, t('live')), h('p', {}, t('notAvailable')));
}
export async function callListPage() {
  return h('div', {}, h('h1', {}, t('callList')), h('p', {}, t('notAvailable')));
}
