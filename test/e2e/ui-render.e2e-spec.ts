// The two pages people open in a browser, opened in one: Swagger UI at /docs and bull-board at /admin/queues must
// render (their scripts load and draw the API and the queues), not merely answer 200. Headless Debian chromium
// through playwright-core; scripts/ensure-chromium.sh installs it when it can, else these tests are skipped
// with the reason and the command that fixes it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium } from 'playwright-core';
import { appUrl } from '../support/app';
import { PROJECT_ROOT } from '../support/e2e-state';
import { newAdmin } from '../support/factories';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Why Chromium cannot be used here, or undefined when it can. Decided once, when jest loads this file. */
function chromiumUnavailable(): string | undefined {
  const script = join(PROJECT_ROOT, 'scripts', 'ensure-chromium.sh');
  const run = spawnSync('bash', [script], { env: { ...process.env, CHROMIUM_PATH }, encoding: 'utf8', timeout: 330_000 });
  if (run.status === 0) return undefined;
  return (run.stderr?.trim() || run.error?.message || `scripts/ensure-chromium.sh exited with ${run.status}`).replace(/\s+/g, ' ');
}

const unavailable = chromiumUnavailable();
if (unavailable) {
  console.warn(`Skipping the browser check of /docs and /admin/queues: ${unavailable} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}
const describeWithChromium = unavailable ? describe.skip : describe;

describeWithChromium('Pages in a browser (headless Chromium)', () => {
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
    context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${newAdmin().token}` } });
    // Only the app: the pages' web fonts (Google) would make the test depend on the internet.
    const origin = new URL(appUrl()).origin;
    await context.route('**/*', (route) => (route.request().url().startsWith(origin) ? route.continue() : route.abort()));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  it('renders Swagger UI at /docs with the API title and its operations', async () => {
    const page = await context.newPage();
    await page.goto(appUrl('/docs'));

    await page.locator('.swagger-ui .info .title', { hasText: 'LegalPro Payments' }).waitFor({ timeout: 20_000 });
    await page.locator('.opblock-summary-path', { hasText: '/api/payments/stk-push' }).first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThan(5);
    await page.close();
  });

  it('renders bull-board at /admin/queues with the service queues', async () => {
    const page = await context.newPage();
    const response = await page.goto(appUrl('/admin/queues'));
    expect(response?.status()).toBe(200);

    // The React app replaces the "Loading" placeholder with the board once its scripts and API calls succeed.
    await page.waitForFunction(
      (names) => names.every((name) => document.body.innerText.split(/\s+/).includes(name)),
      ['payments', 'notifications', 'alerts'],
      { timeout: 20_000 },
    );
    expect(await page.title()).toBe('LegalPro queues');
    await page.close();
  });
});
