import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsoleAssets } from '../../console/build.js';
import { storeBackend } from '../../lib/console/backend.js';
import { type ConsoleServer, startConsoleServer } from '../../lib/console/server.js';
import { browserSkipReason, launchChromium, type ReplayedSamples, replaySamples } from './support.js';

/**
 * The console in a real headless Chromium (Debian's package) over the replayed sample scenario: each
 * view opened by its URL, pivots clicked, content checked. With CONSOLE_SCREENSHOTS=<dir> it also
 * writes a screenshot of each view (docs/console/*.png for the README).
 */

const skip = browserSkipReason();
if (skip) console.warn(`console browser tests skipped: ${skip}`);

const NOW = Date.parse('2025-06-03T00:00:00Z');
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? resolve(process.env.CONSOLE_SCREENSHOTS) : undefined;
const SSO_REQUEST = 'e2aedda2-efa2-43e6-a855-0cf30f222464';
const BREAK_GLASS = 'arn:aws:iam::888636335083:role/break-glass';

let samples: ReplayedSamples;
let server: ConsoleServer;
let browser: { context: BrowserContext; close(): Promise<void> };
let page: Page;
const pageErrors: string[] = [];

const base = () => `http://127.0.0.1:${server.port}`;

/** Open a view by its URL and wait until it has rendered its data. */
const open = async (path: string): Promise<void> => {
  await page.goto(`${base()}${path}`);
  await page.waitForSelector('body[data-ready="true"]');
};

const settled = () => page.waitForSelector('body[data-ready="true"]');

const shot = async (name: string): Promise<void> => {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
};

describe.skipIf(skip !== undefined)('the console in a real browser', () => {
  beforeAll(async () => {
    samples = await replaySamples();
    const { assets } = await buildConsoleAssets();
    server = await startConsoleServer({
      backend: storeBackend({
        mode: 'local',
        source: 'sample scenario',
        store: samples.store,
        usage: samples.usage,
        defaultWindow: samples.window,
      }),
      assets,
      now: () => NOW,
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await samples?.close();
  });

  it('refuses the console without the token, then lets the printed URL in and drops the token from it', async () => {
    const refused = await page.goto(`${base()}/search`);
    expect(refused?.status()).toBe(401);
    expect(await page.textContent('#refusal')).toContain('open the URL that eks-trail console printed');
    expect(await page.locator('#root').count()).toBe(0);
    const wrong = await page.goto(`${base()}/?token=not-the-token`);
    expect(wrong?.status()).toBe(401);

    await page.goto(server.url);
    await settled();
    const url = new URL(page.url());
    expect(url.pathname).toBe('/search');
    expect(url.searchParams.has('token')).toBe(false);
    // The first known cluster and the replayed data's window fill a URL that names neither.
    expect(url.searchParams.get('cluster')).toBe('813088197977/checkout-stg');
    expect(url.searchParams.get('from')).toBe(samples.window.from);
  });

  it('searches by URL and pivots from a human to a principal to a Kubernetes user', async () => {
    await open(
      `/search?q=who-did&cluster=checkout-stg&human=ines.tanaka@example.com&from=${samples.window.from}&to=${samples.window.to}`,
    );
    const humans = await page.locator('td[data-col="human"]').allTextContents();
    expect(humans.length).toBeGreaterThanOrEqual(5);
    expect(new Set(humans)).toEqual(new Set(['ines.tanaka@example.com']));
    await shot('search');

    await page.locator('td[data-col="principal"] a').first().click();
    await settled();
    expect(new URL(page.url()).searchParams.get('principal')).toBe(
      'arn:aws:iam::813088197977:role/AWSReservedSSO_Developer_d90ba469695f9467',
    );
    const principals = await page.locator('td[data-col="principal"]').allTextContents();
    expect(new Set(principals)).toEqual(
      new Set(['arn:aws:iam::813088197977:role/AWSReservedSSO_Developer_d90ba469695f9467']),
    );

    await page.locator('td[data-col="username"] a', { hasText: 'dev:ines.tanaka-example.com' }).first().click();
    await settled();
    expect(new URL(page.url()).searchParams.get('k8s-user')).toBe('dev:ines.tanaka-example.com');
    expect(new Set(await page.locator('td[data-col="username"]').allTextContents())).toEqual(
      new Set(['dev:ines.tanaka-example.com']),
    );
    // Back returns to the previous answer: every pivot was a navigation.
    await page.goBack();
    await settled();
    expect(new URL(page.url()).searchParams.has('principal')).toBe(true);
  });

  it('keeps long ARNs whole on hover and copy, and exports the list as CSV with the CLI columns', async () => {
    await open(
      `/search?q=who-did&cluster=checkout-stg&human=dmitri.smith@example.com&from=${samples.window.from}&to=${samples.window.to}`,
    );
    const link = page.locator('td[data-col="principal"] a').first();
    const full = 'arn:aws:iam::813088197977:role/AWSReservedSSO_AdministratorAccess_8a8e18daf3feb240';
    expect(await link.getAttribute('title')).toBe(`Requests of principal: ${full}`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page
        .getByRole('button', { name: /as CSV$/ })
        .first()
        .click(),
    ]);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('time,human,principal,mapping,k8s user,verb,target,code,outcome,why,auditID');
    expect(csv).toContain(full);
  });

  it('shows a request as a chain graph with the right human, its evidence and the raw audit event', async () => {
    await open(`/request?cluster=813088197977/checkout-stg&audit-id=${SSO_REQUEST}`);
    const human = page.locator('.chain-node[data-link="human"]');
    await expect.poll(() => human.textContent()).toContain('dmitri.smith@example.com');
    expect(await human.textContent()).toContain('observed');
    expect(await page.locator('.chain-node[data-link="mapping"]').textContent()).toContain('derived');
    // Text alternative: the same chain as a table.
    const rows = await page.locator('table tbody tr td[data-col="link"]').allTextContents();
    expect(rows).toEqual(['IAM principal', 'Human', 'Identity mapping', 'Kubernetes identity', 'Decision', 'Request']);
    await shot('request');

    // Keyboard: the graph's nodes take focus and Enter selects one, which shows its evidence.
    await page.locator('.react-flow__node[data-id="human"]').focus();
    await page.keyboard.press('Enter');
    const panel = page.getByRole('region', { name: 'Evidence of the selected link' });
    await expect.poll(() => panel.textContent()).toContain('CloudTrail event 102f5a40-86c2-4ad2-9969-edf01abaa983');

    await page.locator('.react-flow__node[data-id="mapping"]').click();
    await expect
      .poll(() => panel.textContent())
      .toContain('mapping version from change 8dd02dd6-44ae-4cfb-bde3-79845154cf90');

    await page.getByText('Raw audit event (as the trail stores it)').click();
    expect(await page.locator('#raw-event pre').textContent()).toContain(`"auditID": "${SSO_REQUEST}"`);

    // Pivot from the human to everything else they did.
    await page.getByRole('link', { name: 'Everything this human did' }).click();
    await settled();
    expect(new URL(page.url()).searchParams.get('human')).toBe('dmitri.smith@example.com');
    expect(new Set(await page.locator('td[data-col="human"]').allTextContents())).toEqual(
      new Set(['dmitri.smith@example.com']),
    );
  });

  it('draws the mapping history as a timeline with the aws-auth row diff of each change', async () => {
    await open('/mappings?cluster=payments-prod');
    const edit = page.locator('li.change', { hasText: '2025-06-02T12:48:00.442Z' });
    expect(await edit.locator('.change-kind').textContent()).toBe('aws-auth-put');
    const added = edit.locator('tr.diff-added td');
    expect(await added.allTextContents()).toContain(`role ${BREAK_GLASS} -> break-glass [system:masters]`);
    expect(await edit.locator('dd').nth(1).textContent()).toContain('arn:aws:iam::433675980541:user/alice.nguyen');
    await shot('mappings');
  });

  it('moves T with the time control and shows access grouped by mapping', async () => {
    await open('/access?cluster=payments-prod&at=2025-06-02T12:00:00Z');
    const roles = page.locator('section.group', { has: page.locator('h2', { hasText: 'aws-auth mapRoles' }) });
    expect(await roles.textContent()).not.toContain(BREAK_GLASS);
    expect(await page.locator('section.group h2').allTextContents()).toContain('Access entries 1');

    await page.getByRole('button', { name: 'next change →' }).click();
    await settled();
    expect(new URL(page.url()).searchParams.get('at')).toBe('2025-06-02T12:48:00.442Z');
    await expect.poll(() => roles.textContent()).toContain(BREAK_GLASS);
    await shot('access');
  });

  it('lists posture findings and alerts, each linked to its evidence in the timeline', async () => {
    await open('/alerts?cluster=payments-prod');
    const finding = page.locator('tr', { hasText: `${BREAK_GLASS} is mapped to system:masters` });
    expect(await finding.locator('.badge').first().textContent()).toBe('high');
    const alerts = page.getByRole('region', { name: /Mapping-change alerts/ });
    expect(await alerts.textContent()).toContain('system:masters');
    await shot('alerts');

    await finding.getByRole('link', { name: /Mapping history behind/ }).click();
    await settled();
    const highlighted = page.locator('li.change.highlighted');
    expect(await highlighted.count()).toBe(1);
    expect(await highlighted.textContent()).toContain(`role ${BREAK_GLASS} -> break-glass [system:masters]`);
  });

  it('works from the keyboard: focus lands on the view, a skip link leads in, a search is submitted with Enter', async () => {
    await open(`/search?q=denied&cluster=checkout-stg&from=${samples.window.from}&to=${samples.window.to}`);
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('H1');
    // The first stop in tab order is the skip link, shown when focused.
    expect(await page.evaluate("document.querySelector('a[href], button, input, select')?.textContent")).toBe(
      'Skip to content',
    );
    await page.locator('a.skip').focus();
    expect((await page.locator('a.skip').boundingBox())?.x).toBeGreaterThanOrEqual(0);
    await page.getByLabel('stage').selectOption('authorization');
    await page.getByLabel('principal ARN').focus();
    await page.keyboard.type('arn:aws:iam::813088197977:role/AWSReservedSSO_ReadOnly_b03b663beba84768');
    await page.keyboard.press('Enter');
    await settled();
    expect(new URL(page.url()).searchParams.get('stage')).toBe('authorization');
    expect(new Set(await page.locator('td[data-col="failedStage"]').allTextContents())).toEqual(
      new Set(['authorization']),
    );
    expect(await page.locator('td[data-col="missing"] .long-text').allTextContents()).toContain(
      'get secrets "payments-api-db-credentials" in namespace payments',
    );
  });

  it('raised no script error on any view', () => {
    expect(pageErrors).toEqual([]);
  });
});
