/**
 * Opening hours and availability in a real Chromium: an admin creates a schedule (a bad time is
 * named at its weekday, in German), an employee chooses it with a closed-hours number, switches
 * do-not-disturb and voicebox mails; every change is checked on the API.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Company } from '../../src/domain/model.js';
import { startWorld, type World } from '../support/world.js';
import { chromiumMissing, launchChromium, newPage, signIn } from './browser.js';

const PASSWORD = 'opening hours 4711 pw';

describe.skipIf(chromiumMissing !== undefined)('opening hours and availability in Chromium', () => {
  let world: World;
  let browser: Browser;
  let company: Company;
  let admin: string;
  let base: string;
  let workplaceId: string;

  async function account(body: Record<string, unknown>) {
    const res = await world.api<{ link: string; account: { username: string } }>(
      'POST',
      `${base}/accounts`,
      body,
      admin,
    );
    expect(res.status).toBe(201);
    const token = new URL(res.body.link.replace('#/', '')).searchParams.get('token');
    expect((await world.api('POST', '/v1/auth/password', { token, password: PASSWORD })).status).toBe(204);
  }

  beforeAll(async () => {
    world = await startWorld({});
    ({ company, admin } = await world.createCompany('Zeiten GmbH'));
    base = `/v1/companies/${company.id}`;
    const group = await world.createGroup(company.id, admin, {
      numberRanges: [{ first: '+4930150000', last: '+4930150099' }],
    });
    const w = await world.createWorkplace(company.id, admin, {
      groupId: group.id,
      number: '+4930150010',
      firstName: 'Erika',
      lastName: 'Zeit',
      email: 'erika@example.com',
      username: 'erika.zeit',
    });
    workplaceId = w.id;
    await account({ role: 'admin', username: 'zeit.admin', email: 'zeit.admin@example.com' });
    await account({ role: 'employee', username: 'erika.web', email: 'erika.web@example.com', workplaceId });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  it('an admin creates opening hours; a bad time is named at its weekday in German', async () => {
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'zeit.admin', PASSWORD);
    await page.getByRole('link', { name: 'Öffnungszeiten' }).click();
    const form = page.locator('form[data-schedule=""]');
    await form.getByLabel('Name').fill('Büro Berlin');
    await form.getByLabel('Montag').fill('08:00–12:00, 13:00–17:00');
    await form.getByLabel('Dienstag').fill('8 bis 17');
    await form.getByLabel('Freitag').fill('08:00-14:00');
    await form.getByLabel('Gesetzliche Feiertage').selectOption('BE');
    await form.getByLabel('Schließtage').fill('2026-12-24 – 2026-12-31 Betriebsferien');
    await form.getByRole('button', { name: 'Anlegen' }).click();
    const tuesday = form.getByLabel('Dienstag');
    await expect.poll(() => tuesday.getAttribute('aria-invalid')).toBe('true');
    expect(await form.locator('[data-error-for="week.tue"]').textContent()).toContain(
      'muss eine Uhrzeit HH:MM sein',
    );
    expect((await world.api<unknown[]>('GET', `${base}/schedules`, undefined, admin)).body).toEqual([]);

    await tuesday.fill('08:00–17:00');
    await form.getByRole('button', { name: 'Anlegen' }).click();
    await page.locator('form[data-schedule="Büro Berlin"]').waitFor();
    const [schedule] = (
      await world.api<Array<Record<string, unknown>>>('GET', `${base}/schedules`, undefined, admin)
    ).body;
    expect(schedule).toMatchObject({
      name: 'Büro Berlin',
      week: {
        mon: [
          { from: '08:00', to: '12:00' },
          { from: '13:00', to: '17:00' },
        ],
        tue: [{ from: '08:00', to: '17:00' }],
        fri: [{ from: '08:00', to: '14:00' }],
      },
      holidays: { country: 'DE', state: 'BE' },
      closedDays: [{ from: '2026-12-24', to: '2026-12-31', name: 'Betriebsferien' }],
    });
    await page.context().close();
  });

  it('an employee chooses the opening hours with a number for closed hours, do-not-disturb and voicebox mails', async () => {
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'erika.web', PASSWORD);
    const card = page.locator('form[data-form="availability"]');
    await card.waitFor();
    await card.getByLabel('Bitte nicht stören').check();
    await card.getByLabel('Öffnungszeiten', { exact: true }).selectOption({ label: 'Büro Berlin' });
    const number = card.locator('[data-path="closedTarget"]');
    await number.fill('+4930150010');
    await card.locator('label[for="ct-n"]').click();
    await card.getByRole('button', { name: 'Speichern' }).click();
    // the own number is refused at its field, nothing saved
    await expect.poll(() => number.getAttribute('aria-invalid')).toBe('true');
    const url = `${base}/workplaces/${workplaceId}`;
    expect((await world.api('GET', `${url}/availability`, undefined, admin)).body).toEqual({
      doNotDisturb: false,
    });

    await number.fill('030 555 1234');
    await card.getByRole('button', { name: 'Speichern' }).click();
    await page.getByText('Gespeichert', { exact: false }).first().waitFor();
    const [schedule] = (await world.api<Array<{ id: string }>>('GET', `${base}/schedules`, undefined, admin))
      .body;
    expect((await world.api('GET', `${url}/availability`, undefined, admin)).body).toEqual({
      doNotDisturb: true,
      scheduleId: schedule!.id,
      closedTarget: { number: '+49305551234' },
    });

    // voicebox mails off
    const vb = page.locator('form[aria-labelledby="vb-h"]');
    await vb.getByLabel('Neue Nachrichten per E-Mail', { exact: false }).uncheck();
    await vb.getByRole('button', { name: 'Speichern' }).click();
    await expect
      .poll(
        async () =>
          (await world.api<{ mail: boolean }>('GET', `${url}/voicebox`, undefined, admin)).body.mail,
      )
      .toBe(false);
    await page.context().close();
  });

  it('an employee forwards particular callers selectively; a bad prefix is named at its field', async () => {
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'erika.web', PASSWORD);
    const card = page.locator('form[data-form="selective"]');
    await card.waitFor();
    const rule = card.locator('fieldset[data-rule="0"]');
    await rule.getByLabel('Anrufer', { exact: true }).fill('0171 1234567, 89*');
    await rule.locator('label[for="r0-tn"]').click();
    await rule.locator('[data-path="rules.0.target"]').fill('030 555 9999');
    await card.getByRole('button', { name: 'Speichern' }).click();
    const callers = rule.getByLabel('Anrufer', { exact: true });
    await expect.poll(() => callers.getAttribute('aria-invalid')).toBe('true');
    expect(await rule.locator('[data-error-for="rules.0.callers"]').textContent()).toContain('Vorwahl');
    await callers.fill('0171 1234567, 089*');
    await card.getByRole('button', { name: 'Speichern' }).click();
    const url = `${base}/workplaces/${workplaceId}/selective-forwarding`;
    await expect
      .poll(async () => (await world.api<{ rules: unknown[] }>('GET', url, undefined, admin)).body.rules)
      .toEqual([
        {
          enabled: true,
          callers: ['+491711234567', '+4989*'],
          anonymous: false,
          target: { number: '+49305559999' },
        },
      ]);
    await page.context().close();
  });

  it('parallel ringing: a number rings after a delay, another not while on a call', async () => {
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'erika.web', PASSWORD);
    const form = page.locator('form[aria-labelledby="par-h"]');
    await form.waitFor();
    await form.getByLabel('Rufnummer 1', { exact: true }).fill('0171 1111111');
    await form.getByLabel('Verzögerung in Sekunden, Rufnummer 1').fill('10');
    await form.getByLabel('Rufnummer 2', { exact: true }).fill('0171 2222222');
    await form.getByLabel('Nicht während eines Gesprächs, Rufnummer 2').check();
    await form.getByRole('button', { name: 'Speichern' }).click();
    const url = `${base}/workplaces/${workplaceId}/parallel-ringing`;
    await expect
      .poll(async () => (await world.api<Record<string, unknown>>('GET', url, undefined, admin)).body.options)
      .toEqual({ '+491711111111': { delaySeconds: 10 }, '+491712222222': { notWhileOnCall: true } });
    // a delay beyond a minute is named at its field
    await form.getByLabel('Verzögerung in Sekunden, Rufnummer 1').fill('90');
    await form.getByRole('button', { name: 'Speichern' }).click();
    const delay = form.getByLabel('Verzögerung in Sekunden, Rufnummer 1');
    await expect.poll(() => delay.getAttribute('aria-invalid')).toBe('true');
    await page.context().close();
  });
});
