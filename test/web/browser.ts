/**
 * Browser tests drive Debian's Chromium (/usr/bin/chromium, apt package `chromium`) through
 * playwright-core: no browser download. Without it the suites skip and say why.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumMissing: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is not installed (npm run setup installs it: apt-get install chromium)`;
/** CI must not skip: BROWSER_REQUIRED=yes (or E2E_REQUIRED=yes, as .ci/run sets) makes a missing browser a failure */
const required = process.env.BROWSER_REQUIRED === 'yes' || process.env.E2E_REQUIRED === 'yes';
if (chromiumMissing && required)
  throw new Error(`[test/web] ${chromiumMissing}, but BROWSER_REQUIRED/E2E_REQUIRED=yes`);
if (chromiumMissing) console.warn(`[test/web] SKIPPED: ${chromiumMissing}; the browser tests are skipped`);

/** One headless Chromium per test file; each test opens its own context (fresh cookies). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // playwright gives every launch a fresh, empty user data dir of its own
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** SCREENSHOTS=1 writes docs/screenshots/<name>.png (for the README); otherwise nothing. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  mkdirSync('docs/screenshots', { recursive: true });
  await page.screenshot({ path: `docs/screenshots/${name}.png`, fullPage: true });
}

/** A page in German (the browser default decides the app's language) that fails on page errors. */
export async function newPage(browser: Browser, locale = 'de-DE'): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw new Error(`page error: ${err.message}`);
  });
  return page;
}

export async function signIn(page: Page, baseUrl: string, login: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/app/`);
  await page.getByLabel('Benutzername oder E-Mail').fill(login);
  await page.getByLabel('Passwort', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Anmelden' }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
}
