import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type SpawnedServer, spawnServer } from './spawn-server.js';

/** Debian's `chromium` package; Playwright's own browser downloads are not used. */
const CHROMIUM = '/usr/bin/chromium';
/** Generous: the page waits on a server that shares the machine with the other test files. */
const UI = { timeout: 20_000 };
const SCREENSHOT = fileURLToPath(new URL('../../test-output/app-browser.png', import.meta.url));
const hasChromium = existsSync(CHROMIUM);

if (!hasChromium && process.env.CI === 'true') {
  // CI installs chromium (.ci/run): there a missing browser is a broken setup, not a reason to skip.
  throw new Error(`${CHROMIUM} is missing in CI; .ci/run should have installed Debian's chromium`);
}
if (!hasChromium) {
  console.warn(`browser test skipped: ${CHROMIUM} is missing (install it with: apt-get install -y chromium)`);
}

describe.skipIf(!hasChromium)('the built app in headless Chromium (served by the npm start path)', () => {
  let dataDir: string;
  let server: SpawnedServer;
  let browser: Browser;

  beforeAll(async () => {
    assertBuilt();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-app-browser-'));
    // No Lakebase configured and not production: main.js starts the embedded emulator in this data dir.
    server = await spawnServer({ LAKEBASE_EMULATOR_DIR: dataDir });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('adds and edits a preference, shows validation inline and edit conflicts, and keeps it across a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(server.url);

    await expect.poll(() => page.getByTestId('user-email').textContent(), UI).toBe('dev@example.com');
    await expect.poll(() => page.getByTestId('db-state').textContent(), UI).toBe('connected');
    // The status panel: tier, endpoint, the token expiry counting down, pool usage.
    const fact = (label: string) => page.locator(`dt:text-is("${label}") + dd`).textContent();
    expect(await fact('Tier')).toBe('autoscalingembedded emulator');
    expect(await fact('Endpoint')).toBe('projects/lakebase-emulator/branches/production/endpoints/primary');
    expect(await fact('Pool')).toMatch(/^ ?\d+ in use, \d+ idle, 0 waiting \(max 15\)$/);
    const expiry = await fact('Token expires');
    expect(expiry).toMatch(/^in \d+:\d\d /);
    await expect.poll(() => fact('Token expires'), UI).not.toBe(expiry);

    const addForm = page.getByRole('form', { name: 'Add a preference' });
    // A key the server rejects: its message appears next to the key field.
    await addForm.getByLabel('Key').fill('bad key');
    await addForm.getByLabel('Value').fill('dark');
    await addForm.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => addForm.getByRole('alert').textContent(), UI).toMatch(/^key must be 1-64 characters/);

    await addForm.getByLabel('Key').fill('theme');
    await addForm.getByRole('button', { name: 'Add' }).click();
    const row = page.getByTestId('preference-theme');
    await expect.poll(() => row.getByTestId('preference-value').textContent(), UI).toBe('dark');

    // Someone else changes the preference while the editor is open: Save gets 412, and the editor reloads the
    // latest value and says so instead of overwriting it.
    await row.getByRole('button', { name: 'Edit' }).click();
    await expect.poll(() => row.getByLabel('Value').inputValue(), UI).toBe('dark');
    const elsewhere = await page.evaluate(async () => {
      const response = await fetch('/api/preferences/theme', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'changed in another tab' }),
      });
      return response.status;
    });
    expect(elsewhere).toBe(200);
    await row.getByLabel('Value').fill('"mine"');
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.getByTestId('preference-notice').textContent(), UI).toMatch(/changed elsewhere/);
    await expect.poll(() => row.getByLabel('Value').inputValue(), UI).toBe('changed in another tab');

    // Saving again applies to the version just read.
    await row.getByLabel('Value').fill('{"mode": "dark", "fontSize": 14}');
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.getByTestId('preference-value').textContent(), UI).toContain('"fontSize": 14');

    await page.reload();
    await expect
      .poll(() => page.getByTestId('preference-theme').getByTestId('preference-value').textContent(), UI)
      .toBe(JSON.stringify({ mode: 'dark', fontSize: 14 }, null, 2));

    // Add never replaces: adding a key that exists is refused in the form, and the stored value stays.
    await addForm.getByLabel('Key').fill('theme');
    await addForm.getByLabel('Value').fill('"replaced"');
    await addForm.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => addForm.getByRole('alert').textContent(), UI).toContain("'theme' already exists");
    await page.reload();
    await expect
      .poll(() => page.getByTestId('preference-theme').getByTestId('preference-value').textContent(), UI)
      .toBe(JSON.stringify({ mode: 'dark', fontSize: 14 }, null, 2));

    // Delete: add a second preference, remove it, and it is gone after a reload too.
    await addForm.getByLabel('Key').fill('obsolete');
    await addForm.getByLabel('Value').fill('1');
    await addForm.getByRole('button', { name: 'Add' }).click();
    const obsolete = page.getByTestId('preference-obsolete');
    await expect.poll(() => obsolete.getByTestId('preference-value').textContent(), UI).toBe('1');
    // Someone else changes it after it was shown: Delete removes only the version shown, so it refuses, shows the
    // latest value and says so; the changed value is still stored.
    const changedElsewhere = await page.evaluate(async () => {
      const response = await fetch('/api/preferences/obsolete', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: 2 }),
      });
      return response.status;
    });
    expect(changedElsewhere).toBe(200);
    await obsolete.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => obsolete.getByTestId('preference-notice').textContent(), UI).toMatch(/changed elsewhere/);
    await expect.poll(() => obsolete.getByTestId('preference-value').textContent(), UI).toBe('2');
    const stored = await page.evaluate(async () => (await fetch('/api/preferences/obsolete')).status);
    expect(stored).toBe(200);
    // Deleting the version now shown works.
    await obsolete.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => obsolete.count(), UI).toBe(0);
    await page.reload();
    await expect.poll(() => page.getByTestId('preference-theme').count(), UI).toBe(1);
    expect(await page.getByTestId('preference-obsolete').count()).toBe(0);

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('shows the not-configured banner with the suggestion when Lakebase is off', async () => {
    const unconfigured = await spawnServer({ LAKEBASE_EMULATOR: 'off' });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
      await page.goto(unconfigured.url);
      const banner = page.getByRole('alert').filter({ hasText: 'Lakebase is not configured' });
      await expect
        .poll(() => banner.textContent(), UI)
        .toContain(
          'Configure Lakebase resource in databricks.yml or set PGHOST and LAKEBASE_DATABASE environment variables.',
        );
      await expect.poll(() => page.getByTestId('db-state').textContent(), UI).toBe('not configured');
      await page.screenshot({ path: SCREENSHOT.replace('.png', '-not-configured.png'), fullPage: true });
    } finally {
      await unconfigured.stop();
    }
  });
});
