/**
 * Admin pages in Chromium. Desk phones: created with their model from the workplace form, added
 * on the workplace page (a missing model is named at its field, in German), and a device just
 * added can have its password regenerated without a reload. A CSV as Excel saves it. Every page
 * at phone width.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Company } from '../../src/domain/model.js';
import { startWorld, type World } from '../support/world.js';
import { chromiumMissing, launchChromium, newPage, signIn } from './browser.js';

const PASSWORD = 'desk phones 4711 pw';

describe.skipIf(chromiumMissing !== undefined)(
  'admin pages in Chromium: desk phones, an Excel CSV, phone width',
  () => {
    let world: World;
    let browser: Browser;
    let company: Company;
    let admin: string;
    let base: string;

    beforeAll(async () => {
      world = await startWorld({});
      ({ company, admin } = await world.createCompany('Telefon GmbH'));
      base = `/v1/companies/${company.id}`;
      await world.createGroup(company.id, admin, {
        numberRanges: [{ first: '+4930160000', last: '+4930160099' }],
      });
      const res = await world.api<{ link: string }>(
        'POST',
        `${base}/accounts`,
        { role: 'admin', username: 'tel.admin', email: 'tel.admin@example.com' },
        admin,
      );
      const token = new URL(res.body.link.replace('#/', '')).searchParams.get('token');
      expect((await world.api('POST', '/v1/auth/password', { token, password: PASSWORD })).status).toBe(204);
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await world?.close();
    });

    it('a workplace is created with a desk phone and its model; another is added on its page', async () => {
      const page = await newPage(browser);
      await signIn(page, world.apiUrl, 'tel.admin', PASSWORD);
      await page.getByRole('link', { name: 'Neuer Arbeitsplatz' }).click();
      await page.getByLabel('Vorname').fill('Tina');
      await page.getByLabel('Nachname').fill('Tisch');
      await page.getByLabel('E-Mail').fill('tina@example.com');
      await page.getByLabel('Benutzername').fill('tina.tisch');
      await page.getByLabel('Rufnummer', { exact: true }).fill('+4930160010');
      await page.getByLabel('Endgerät', { exact: true }).selectOption({ label: 'Telefon' });
      await page.getByLabel('Modell').fill('Yealink T54W');
      await page.getByRole('button', { name: 'Anlegen' }).click();
      await page.getByText('Angelegt.', { exact: false }).waitFor();
      const [w] = (
        await world.api<Array<{ id: string; devices: Array<Record<string, unknown>> }>>(
          'GET',
          `${base}/workplaces`,
          undefined,
          admin,
        )
      ).body;
      expect(w!.devices).toEqual([expect.objectContaining({ type: 'deskphone', model: 'Yealink T54W' })]);

      await page.getByRole('link', { name: 'Arbeitsplatz bearbeiten' }).click();
      const add = page.getByRole('form', { name: 'Endgerät hinzufügen' });
      await add.getByLabel('Gerätetyp').selectOption({ label: 'Telefon' });
      await add.getByRole('button', { name: 'Endgerät hinzufügen' }).click();
      // no model: the error at the model field, in German
      const model = add.getByLabel('Modell');
      await expect.poll(() => model.getAttribute('aria-invalid')).toBe('true');
      expect(await add.locator('[data-error-for="model"]').textContent()).toBe(
        'ist für ein Tischtelefon erforderlich',
      );
      await model.fill('Snom D785');
      await add.getByRole('button', { name: 'Endgerät hinzufügen' }).click();
      const rows = page.locator('tr[data-device]');
      await expect.poll(() => rows.count()).toBe(2);
      expect(await rows.nth(1).locator('td').first().textContent()).toBe('Telefon');
      // the new row regenerates at once
      const first = await page.locator('[data-secret]').first().textContent();
      await rows.nth(1).getByRole('button').click();
      await expect.poll(async () => page.locator('[data-secret]').first().textContent()).not.toBe(first);
      await page.context().close();
    });

    it('a CSV saved by Excel (Windows-1252) keeps its umlauts; the group is named as people see it', async () => {
      const page = await newPage(browser);
      await signIn(page, world.apiUrl, 'tel.admin', PASSWORD);
      await page.getByRole('link', { name: 'CSV-Import' }).click();
      const csv = [
        'firstName,lastName,email,username,groupId,number',
        'Jürgen,Größer,juergen@example.com,juergen.groesser,Berlin,+4930160020',
      ].join('\r\n');
      // what Excel writes: one byte per character, ü = 0xFC, ö = 0xF6, ß = 0xDF
      const bytes = Buffer.from([...csv].map((c) => ({ ü: 0xfc, ö: 0xf6, ß: 0xdf })[c] ?? c.charCodeAt(0)));
      expect(bytes.includes(0xc3), 'no UTF-8 in the file').toBe(false);
      await page
        .getByLabel('CSV-Datei')
        .setInputFiles({ name: 'mitarbeiter.csv', mimeType: 'text/csv', buffer: bytes });
      await expect.poll(() => page.getByLabel('CSV-Inhalt').inputValue()).toContain('Jürgen,Größer');
      await page.getByRole('button', { name: 'Importieren' }).click();
      await page.getByRole('status').filter({ hasText: '1' }).first().waitFor();
      const list = (
        await world.api<Array<{ firstName: string; lastName: string; username: string }>>(
          'GET',
          `${base}/workplaces`,
          undefined,
          admin,
        )
      ).body;
      expect(list.find((w) => w.username === 'juergen.groesser')).toMatchObject({
        firstName: 'Jürgen',
        lastName: 'Größer',
      });
      await page.context().close();
    });

    it('at phone width (390 px) no page pushes sideways: tables become stacked rows that name each value', async () => {
      const [group] = (await world.api<Array<{ id: string }>>('GET', `${base}/groups`, undefined, admin))
        .body;
      await world.createWorkplace(company.id, admin, { groupId: group!.id, number: '+4930160030' });
      const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 390, height: 800 } });
      const page = await context.newPage();
      await signIn(page, world.apiUrl, 'tel.admin', PASSWORD);
      for (const hash of [
        '#/workplaces',
        '#/groups',
        '#/portals',
        '#/blocking',
        '#/schedules',
        '#/templates',
        '#/accounts',
        '#/import',
        '#/live',
        '#/calls',
      ]) {
        await page.goto(`${world.apiUrl}/app/${hash}`);
        await page.locator('main h1').waitFor();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect(width, `${hash} is ${width} px wide`).toBeLessThanOrEqual(390);
      }
      // a workplace row says what each value is
      await page.goto(`${world.apiUrl}/app/#/workplaces`);
      const cell = page.locator('main tbody tr td').first();
      await cell.waitFor();
      expect(await cell.getAttribute('data-label')).toBeTruthy();
      await context.close();
    }, 60_000);
    it('axe finds no serious or critical accessibility violation on any admin page, in German and English', async () => {
      for (const locale of ['de-DE', 'en-GB']) {
        const page = await newPage(browser, locale);
        await page.goto(`${world.apiUrl}/app/`);
        await page.locator('input[name="login"], input[autocomplete="username"]').first().fill('tel.admin');
        await page.locator('input[type="password"]').first().fill(PASSWORD);
        await page.locator('form button[type="submit"]').first().click();
        await page.locator('main h1').waitFor();
        const found: string[] = [];
        for (const hash of [
          '#/workplaces',
          '#/workplaces/new',
          '#/groups',
          '#/portals',
          '#/blocking',
          '#/schedules',
          '#/templates',
          '#/accounts',
          '#/import',
          '#/live',
          '#/calls',
        ]) {
          await page.goto(`${world.apiUrl}/app/${hash}`);
          await page.locator('main h1').waitFor();
          const result = await new AxeBuilder({ page }).analyze();
          for (const v of result.violations)
            if (v.impact === 'serious' || v.impact === 'critical')
              found.push(
                `${locale} ${hash}: ${v.id} (${v.impact}) ${v.nodes.map((n: { target: unknown[] }) => n.target.join(' ')).join(', ')}`,
              );
        }
        expect(found).toEqual([]);
        await page.context().close();
      }
    }, 120_000);
  },
);
