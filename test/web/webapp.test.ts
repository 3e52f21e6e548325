/**
 * The web app in a real Chromium against the whole world (simulator, Redis, API over HTTP,
 * call controller): what an admin and an employee do with it, asserted on the page and, where
 * it matters, on the API and on the calls.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portalFlow } from '../../src/calls/flows/portal/portal.js';
import type { AnywherePortal, Company } from '../../src/domain/model.js';
import { startWorld, until, type World, type WorkplaceView } from '../support/world.js';
import { chromiumMissing, launchChromium, newPage, screenshot, signIn } from './browser.js';

const ADMIN_PASSWORD = 'admin password 4711';

describe.skipIf(chromiumMissing !== undefined)('web app in Chromium', () => {
  let world: World;
  let browser: Browser;
  let company: Company;
  let admin: string;
  let groupId: string;
  let base: string;

  /** An account through the API (invitation link → password), as the browser would. */
  async function account(body: Record<string, unknown>, password: string) {
    const res = await world.api<{ link: string; account: { username: string } }>(
      'POST',
      `${base}/accounts`,
      body,
      admin,
    );
    expect(res.status).toBe(201);
    const token = new URL(res.body.link.replace('#/', '')).searchParams.get('token');
    const set = await world.api('POST', '/v1/auth/password', { token, password });
    expect(set.status).toBe(204);
    return res.body.account.username;
  }

  beforeAll(async () => {
    // time scale 0.1: a 120 s ring time lasts 12 s, long enough to watch a call ring
    world = await startWorld({ timeScale: 0.1, mediaDurationMs: () => 1000, flows: { portal: portalFlow } });
    ({ company, admin } = await world.createCompany('Web GmbH'));
    base = `/v1/companies/${company.id}`;
    groupId = (
      await world.createGroup(company.id, admin, {
        numberRanges: [{ first: '+4930140000', last: '+4930140999' }],
      })
    ).id;
    await account({ role: 'admin', username: 'web.admin', email: 'admin@example.com' }, ADMIN_PASSWORD);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  it('sign-in: a wrong password is announced, the right one opens the workplaces', async () => {
    const page = await newPage(browser);
    await page.goto(`${world.apiUrl}/app/`);
    await page.getByLabel('Benutzername oder E-Mail').fill('web.admin');
    await page.getByLabel('Passwort', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('Benutzername oder Passwort ist falsch.');
    // signed out: no navigation, no sign-out button
    expect(await page.getByRole('button', { name: 'Abmelden' }).isVisible()).toBe(false);
    expect(await page.getByRole('navigation').getByRole('link').count()).toBe(0);
    await screenshot(page, 'sign-in');
    // the second try with the keyboard only: Tab to the fields, Enter submits
    await page.getByLabel('Benutzername oder E-Mail').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('password');
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Arbeitsplätze' }).waitFor();
    // focus moved to the page's heading
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    // the session cookie is HttpOnly: page scripts cannot read it
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'pbx_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    await page.context().close();
  });

  it('a workplace with a bad username shows the seed rule at the field; fixed, it is created', async () => {
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'web.admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Neuer Arbeitsplatz' }).click();
    await page.getByLabel('Vorname').fill('Max');
    await page.getByLabel('Nachname').fill('Müller');
    await page.getByLabel('E-Mail').fill('max@example.com');
    await page.getByLabel('Benutzername').fill('Max.Müller');
    await page.getByLabel('Rufnummer', { exact: true }).fill('+4930140010');
    await page.getByRole('button', { name: 'Anlegen' }).click();
    const username = page.getByLabel('Benutzername');
    await expect.poll(() => username.getAttribute('aria-invalid')).toBe('true');
    const error = await page.locator('[data-error-for="username"]').textContent();
    expect(error).toContain('darf keine Umlaute oder ß enthalten');
    expect(error).toContain('muss aus Kleinbuchstaben bestehen');
    // the error is tied to the input for screen readers, and focus went to it
    const describedBy = (await username.getAttribute('aria-describedby'))!.split(' ');
    expect(describedBy).toContain(await page.locator('[data-error-for="username"]').getAttribute('id'));
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('username');
    await screenshot(page, 'workplace-field-error');
    expect((await world.api<unknown[]>('GET', `${base}/workplaces`, undefined, admin)).body).toHaveLength(0);

    await username.fill('max.mueller');
    await page.getByRole('button', { name: 'Anlegen' }).click();
    await page.getByText('Angelegt.', { exact: false }).waitFor();
    // the device's SIP password is shown once
    expect(await page.locator('[data-secret]').first().textContent()).toMatch(/\S{8,}/);
    const list = (await world.api<Array<{ username: string }>>('GET', `${base}/workplaces`, undefined, admin))
      .body;
    expect(list.map((w) => w.username)).toEqual(['max.mueller']);
    await page.context().close();
  });

  it('CSV import with a bad row lists the errors per row and saves nothing', async () => {
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'web.admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'CSV-Import' }).click();
    const csv = [
      'firstName,lastName,email,username,groupId,number',
      `Anna,Alt,anna@example.com,anna.alt,${groupId},+4930140020`,
      `Bernd,Bad,bernd@example.com,Bernd_,${groupId},+4930999999`,
    ].join('\n');
    await page.getByLabel('CSV-Inhalt').fill(csv);
    await page.getByRole('button', { name: 'Importieren' }).click();
    const table = page.locator('[data-import-errors]');
    await table.waitFor();
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    // line 3 of the file: the username rules and the number outside the group's ranges
    expect(rows.every((r) => r[0] === '3')).toBe(true);
    expect(rows.map((r) => r[1])).toEqual(expect.arrayContaining(['username', 'number']));
    expect(rows.find((r) => r[1] === 'username')![2]).toContain('Kleinbuchstaben');
    await screenshot(page, 'csv-import-errors');
    const list = (await world.api<Array<{ username: string }>>('GET', `${base}/workplaces`, undefined, admin))
      .body;
    expect(list.map((w) => w.username)).not.toContain('anna.alt');
    await page.context().close();
  });

  it('silent mode switched on in the browser applies to the next portal call', async () => {
    const portal = await world.createPortal(company.id, admin, {
      groupId,
      number: '+4930140900',
      silentMode: false,
    });
    // before: an unknown caller hears the refusal
    const before = await world.driver.placeCall({ from: '+4917011111111', to: portal.number });
    await before.waitForHangup();
    expect(before.heard()).toEqual(['sound:pbx/access-denied']);

    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'web.admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Anywhere-Portale' }).click();
    const card = page.locator(`form[data-portal="${portal.number}"]`);
    await card.getByLabel('Stiller Modus').check();
    await card.getByRole('button', { name: 'Speichern' }).click();
    await expect.poll(() => page.locator('#toast').textContent()).toBe('Gespeichert.');
    await screenshot(page, 'portals');
    await until(async () => {
      const target = await world.controller.context.cache.resolveNumber(portal.number);
      return target?.kind === 'portal' && (target.portal as AnywherePortal).silentMode;
    }, 'the change to reach the controller');

    // after: refused without a word and without answering
    const after = await world.driver.placeCall({ from: '+4917011111111', to: portal.number });
    expect(await after.waitForHangup()).toBe(21);
    expect(after.heard()).toEqual([]);
    await page.context().close();
  });

  it('invitation: the admin invites an employee, who sets a password, signs in, sets forwarding and plays a voicebox message', async () => {
    const wp: WorkplaceView = await world.createWorkplace(company.id, admin, {
      groupId,
      number: '+4930140030',
      username: 'erika.web',
      forwarding: { noAnswer: { enabled: false, ringSeconds: 5 } },
    });
    // a message on the voicebox, left by a caller on the simulator
    const desk = world.deviceEndpoint(wp.devices[0]!.sipUsername);
    world.driver.setEndpointBehaviour(desk, { kind: 'noanswer' });
    const caller = await world.driver.placeCall({ from: '+4989777888', to: wp.number });
    await caller.waitForPlayback('sound:pbx/beep');
    await caller.speak(1000);
    await caller.pressDigits('#');
    await caller.waitForHangup();

    // the admin invites from the workplace's page and copies the link
    const adminPage = await newPage(browser);
    await signIn(adminPage, world.apiUrl, 'web.admin', ADMIN_PASSWORD);
    await adminPage.goto(`${world.apiUrl}/app/#/workplaces/${wp.id}`);
    await adminPage.getByRole('button', { name: 'Einladen' }).click();
    const link = (await adminPage.locator('[data-secret]').last().textContent())!;
    expect(link).toContain('/app/#/set-password?purpose=invite&token=');
    await adminPage.context().close();

    // the employee, in an English browser
    const page = await newPage(browser, 'en-GB');
    await page.goto(link);
    await page.getByLabel('New password').fill('short');
    await page.getByLabel('Repeat password').fill('short');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.locator('[data-error-for="password"]').textContent())
      .toContain('at least 10');
    // (was "erika password 1": the password policy now refuses the employee's own first name)
    await page.getByLabel('New password').fill('amsel password 1');
    await page.getByLabel('Repeat password').fill('amsel password 1');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('link', { name: 'Go to sign-in' }).click();
    await page.getByLabel('Username or e-mail').fill('erika.web');
    await page.getByLabel('Password', { exact: true }).fill('amsel password 1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'My settings' }).waitFor();

    // forwarding when busy to a mobile number
    const busy = page.getByRole('group', { name: 'When busy' });
    await busy.getByLabel('on').check();
    await busy.getByLabel('Number', { exact: true }).check();
    await busy.getByLabel('Target number').fill('0171 2345678');
    await page.locator('form[data-form="forwarding"]').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#toast').textContent()).toBe('Saved.');
    await screenshot(page, 'employee-settings');
    const employee = await world.employeeToken(company.id, admin, wp.id);
    const fwd = await world.api<{ busy: unknown }>(
      'GET',
      `${base}/workplaces/${wp.id}/forwarding`,
      undefined,
      employee,
    );
    expect(fwd.body.busy).toEqual({ enabled: true, target: { number: '+491712345678' } });

    // the voicebox message plays in the browser (audio from the API, with the session cookie)
    await page.getByRole('link', { name: 'Voicebox' }).click();
    const audio = page.locator('audio').first();
    await audio.waitFor();
    const played = await audio.evaluate(
      (el: HTMLAudioElement) =>
        new Promise<{ duration: number; error: number | null }>((resolve) => {
          el.addEventListener('playing', () => resolve({ duration: el.duration, error: null }), {
            once: true,
          });
          el.addEventListener('error', () => resolve({ duration: 0, error: el.error?.code ?? -1 }), {
            once: true,
          });
          void el.play().catch(() => undefined);
        }),
    );
    expect(played.error).toBeNull();
    expect(played.duration).toBeGreaterThan(0);
    await screenshot(page, 'voicebox');
    const messages = `${base}/workplaces/${wp.id}/voicebox/messages`;
    await until(async () => {
      const list = await world.api<Array<{ status: string }>>('GET', messages, undefined, employee);
      return list.body[0]?.status === 'heard';
    }, 'the message marked heard');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No messages.').waitFor();
    expect((await world.api<unknown[]>('GET', messages, undefined, employee)).body).toEqual([]);

    // the call that left the message is in the employee's own call list
    await until(async () => {
      const calls = await world.api<{ items: unknown[] }>(
        'GET',
        `${base}/workplaces/${wp.id}/calls`,
        undefined,
        employee,
      );
      return calls.body.items.length > 0;
    }, 'the call record');
    // the employee's own live state: a ticket for the own workplace opens the stream
    await page.getByRole('link', { name: 'Live calls' }).click();
    await expect.poll(() => page.locator('[data-live-status]').textContent()).toBe('Connected.');
    await page.getByRole('link', { name: 'My calls' }).click();
    const row = page.locator('[data-call-list] tbody tr', { hasText: '+4989777888' });
    await row.waitFor();
    expect(await row.textContent()).toContain('voicebox');
    await page.context().close();
  });

  it('a live call appears on the admin page while it rings and is answered, then in the call list', async () => {
    const wp: WorkplaceView = await world.createWorkplace(company.id, admin, {
      groupId,
      number: '+4930140050',
      username: 'live.web',
      forwarding: { noAnswer: { enabled: false, ringSeconds: 120 } },
    });
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'web.admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Live-Anrufe' }).click();
    await expect.poll(() => page.locator('[data-live-status]').textContent()).toBe('Verbunden.');

    const desk = world.deviceEndpoint(wp.devices[0]!.sipUsername);
    world.driver.setEndpointBehaviour(desk, { kind: 'manual' });
    const caller = await world.driver.placeCall({ from: '+4989555666', to: wp.number });
    const row = page.locator('[data-live-calls] tbody tr', { hasText: '+4989555666' });
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain('klingelt');
    const deskLeg = await world.driver.waitForChannel(desk);
    await deskLeg.answer();
    await expect.poll(() => row.textContent()).toContain('verbunden');
    await screenshot(page, 'live-calls');
    await caller.hangup();
    await row.waitFor({ state: 'detached' });
    await page.getByText('Gerade keine Anrufe.').waitFor();

    await until(async () => {
      const calls = await world.api<{ items: Array<{ from: string }> }>(
        'GET',
        `${base}/calls`,
        undefined,
        admin,
      );
      return calls.body.items.some((c) => c.from === '+4989555666');
    }, 'the call record');
    await page.getByRole('link', { name: 'Anrufliste' }).click();
    const listed = page.locator('[data-call-list] tbody tr', { hasText: '+4989555666' });
    await listed.waitFor();
    expect(await listed.textContent()).toContain('angenommen');
    // one page holds every call so far: no "load more"
    expect(await page.getByRole('button', { name: 'Weitere laden' }).isVisible()).toBe(false);
    await screenshot(page, 'call-list');
    await page.context().close();
  });

  it('every control on every admin page (with the data of the tests above) has an accessible name, in both languages', async () => {
    const page = await newPage(browser);
    await signIn(page, world.apiUrl, 'web.admin', ADMIN_PASSWORD);
    const pages = [
      'workplaces',
      'workplaces/new',
      'groups',
      'portals',
      'blocking',
      'templates',
      'accounts',
      'import',
      'live',
      'calls',
    ];
    for (const lang of ['de', 'en']) {
      await page.locator('#lang').selectOption(lang);
      await page.locator(`html[lang="${lang}"]`).waitFor();
      for (const hash of pages) {
        await page.goto(`${world.apiUrl}/app/#/${hash}`);
        await page.locator(`main[data-page="/${hash}"] h1`).waitFor();
        const unnamed = await page.evaluate(() =>
          [...document.querySelectorAll('input, select, textarea, button, a[href]')]
            .filter((el) => {
              const e = el as HTMLInputElement;
              if (e.type === 'hidden' || e.closest('[hidden]')) return false;
              const labelled =
                (e.labels?.length ?? 0) > 0 ||
                e.getAttribute('aria-label') ||
                e.getAttribute('aria-labelledby');
              return !labelled && !(e.textContent ?? '').trim();
            })
            .map((el) => el.outerHTML.slice(0, 80)),
        );
        expect(unnamed, `${lang} #/${hash}`).toEqual([]);
        expect(await page.evaluate(() => document.documentElement.lang)).toBe(lang);
      }
    }
    await page.context().close();
  });
});
