// The board's dashboard the way a person meets it: the whole platform started from the
// built binaries (stack.mjs) with the demo programme loaded through the public API, and
// the page in Debian's chromium driven by playwright-core. It asserts what a board member
// sees - and keeps a screenshot of every view in build/test-artifacts/browser (with
// KAM_UPDATE_SCREENSHOTS=1 also the two README images in docs/img).
//
//   node --test tests/browser/dashboard.test.mjs      (ctest runs it as dashboard_browser)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { root, startStack } from './stack.mjs';

const artifacts = process.env.KAM_ARTIFACTS || path.join(root, 'build/test-artifacts/browser');
const chromiumPath = process.env.KAM_CHROMIUM || '/usr/bin/chromium';
fs.mkdirSync(artifacts, { recursive: true });

let stack;
let browser;
let page;
const consoleErrors = [];
let phase = 'start';

async function shot(name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

async function ready() {
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30000 });
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash === h, hash);
  await ready();
}

async function login(token) {
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
}

// The gateway's JSON from inside the page (its session cookie, same origin).
async function apiGet(urlPath) {
  return page.evaluate(async (p) => (await fetch(p, { credentials: 'same-origin' })).json(), urlPath);
}

before(async () => {
  assert.ok(fs.existsSync(chromiumPath), `no browser at ${chromiumPath}: run deploy/setup.sh --tests`);
  stack = await startStack({ demo: true });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push({ phase, text: m.text() }); });
  page.on('pageerror', (e) => consoleErrors.push({ phase, text: `page error: ${e.message}` }));
  await page.goto(stack.boardUrl);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a wrong token is refused with the reason, and no session is opened', async () => {
  phase = 'wrong-token';
  await page.getByTestId('login-form').waitFor();
  await shot('login');
  await login('not-a-token-of-this-platform');
  const error = page.getByTestId('login-error');
  await error.waitFor();
  assert.match(await error.innerText(), /Could not log in: unknown bearer token/);
  await shot('login-refused');
  const probe = await apiGet('/api/session');
  assert.equal(probe.authenticated, false);
});

test('the board logs in and the scorecard shows the flag for a sponsor-less account', async () => {
  phase = 'overview';
  await page.getByTestId('login-token').fill('');
  await login(stack.tokens.board);
  await ready();
  assert.match(await page.getByTestId('verified-line').innerText(), /intact/);
  const step2 = page.getByTestId('step-2');
  const flags = await step2.getByTestId('flag').allInnerTexts();
  const noSponsor = flags.find((t) => /Vistula Steel/.test(t) && /no sponsor after 30 days/.test(t));
  assert.ok(noSponsor, `step 2 shows Vistula Steel without a sponsor; it shows:\n${flags.join('\n---\n')}`);
  // Every step is there, in order; step 3 holds.
  for (let n = 1; n <= 7; n++) await page.getByTestId(`step-${n}`).waitFor();
  assert.match(await page.getByTestId('step-3').innerText(), /Held/);
  await shot('overview');
  if (process.env.KAM_UPDATE_SCREENSHOTS === '1') {
    await page.screenshot({ path: path.join(root, 'docs/img/overview.png'), clip: { x: 0, y: 0, width: 1366, height: 900 } });
  }
});

test('the portfolio lists every account with its stage, and the register its decisions', async () => {
  phase = 'portfolio';
  await go('#/portfolio');
  const table = page.getByTestId('portfolio-table');
  assert.match(await table.getByTestId('account-row-baltic-packaging').innerText(), /Exception/);
  assert.match(await table.getByTestId('account-row-iberia-beverages').innerText(), /−€|-€/);
  await shot('portfolio');
  await go('#/register');
  const register = await page.getByTestId('register-table').innerText();
  assert.match(register, /Atlas Retail Group/);
  assert.match(register, /Admit-then-demote/);
  // Each decision names its decider's role (it stays when their personal data is erased).
  assert.match(register, /as champion/);
  assert.match(register, /as steering board/);
  await shot('register');
});

test('the account story lists the nomination with its rationale, and the as-of slider goes back in time', async () => {
  phase = 'account';
  await go('#/account/nordic-foods');
  const nomination = page.locator('[data-testid="timeline-item"][data-event-type="AccountNominated"]');
  assert.match(await nomination.innerText(), /Largest dairy-ingredients buyer in the Nordics/);
  await shot('account-story');
  if (process.env.KAM_UPDATE_SCREENSHOTS === '1') {
    await page.screenshot({ path: path.join(root, 'docs/img/account-story.png'), clip: { x: 0, y: 0, width: 1366, height: 900 } });
  }
  // Between the nomination and the admission (business time), the account is "nominated".
  const history = await apiGet('/api/programmes/emea-kam/history?account=nordic-foods');
  const at = (type) => history.entries.find((e) => e.envelope.event[type]).envelope.occurredAt;
  const nominated = Date.parse(at('accountNominated'));
  const admitted = Date.parse(at('accountAdmitted'));
  assert.ok(nominated < admitted);
  await page.getByTestId('asof-axis').selectOption('effective');
  const slide = async (ms) => {
    const seconds = Math.floor(ms / 1000 / 86400) * 86400;  // the slider moves in days
    await page.getByTestId('asof-slider').fill(String(seconds));
    await page.waitForFunction((s) => document.querySelector('[data-testid="asof-time"]')?.dataset.time !== undefined
      && document.body.dataset.ready === 'true', seconds, { timeout: 30000 });
    await page.waitForTimeout(400);  // the slider is debounced
    await ready();
    return (await page.getByTestId('asof-stage').innerText()).trim();
  };
  const before = await slide(nominated + (admitted - nominated) / 2);
  assert.equal(before, 'nominated');
  await shot('account-as-of-before-admission');
  const later = await slide(admitted + 2 * 86400000);
  assert.equal(later, 'admitted');
});

test('the demo\'s late fact is in the history as a late entry, with its reason', async () => {
  phase = 'late-entry';
  await go('#/account/danube-logistics');
  const history = await apiGet('/api/programmes/emea-kam/history?account=danube-logistics');
  const late = history.entries.filter((e) => e.envelope.lateReason);
  assert.equal(late.length, 1, 'one late entry: the sponsor visit reported with an expense claim');
  assert.ok(late[0].envelope.event.sponsorVisitLogged);
  assert.match(late[0].envelope.lateReason, /expense claim/);
  // Every other command of the story came in business-time order.
  const occurred = history.entries.filter((e) => !e.envelope.lateReason)
    .map((e) => Date.parse(e.envelope.occurredAt));
  assert.deepEqual(occurred, [...occurred].sort((a, b) => a - b));

  // On the page: exactly one timeline item is marked as a late entry - that event - with
  // its reason and claimed date in words, without hovering; no other item carries a mark.
  const timeline = page.getByTestId('timeline');
  const items = timeline.getByTestId('timeline-item');
  assert.ok(await items.count() > 1, 'the Danube timeline has more than the late entry');
  const marked = timeline.locator('[data-testid="timeline-item"][data-late-entry="true"]');
  assert.equal(await marked.count(), 1, 'one timeline item is a late entry');
  assert.equal(await marked.getAttribute('data-event-id'), late[0].envelope.eventId);
  assert.equal(await marked.getAttribute('data-event-type'), 'SponsorVisitLogged');
  assert.equal(await timeline.getByTestId('late-entry-badge').count(), 1, 'one "Late entry" badge');
  assert.equal(await timeline.getByTestId('late-entry-note').count(), 1, 'one late-entry note');
  const badge = marked.getByTestId('late-entry-badge');
  assert.equal((await badge.innerText()).trim(), 'Late entry');
  assert.ok((await badge.getAttribute('title')).includes(late[0].envelope.lateReason), 'the badge\'s tooltip gives the reason');
  const claimed = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
    .format(new Date(late[0].envelope.occurredAt));
  const note = (await marked.getByTestId('late-entry-note').innerText()).trim();
  assert.equal(note, `Entered late: ${late[0].envelope.lateReason} (claimed ${claimed})`);
  assert.ok(await marked.getByTestId('late-entry-note').isVisible(), 'the reason shows without hovering');
  // The old "Recorded late" badge (recorded long after occurred) was on every event of a
  // story loaded at once; it is gone, and nothing else reads as late.
  const others = await timeline.locator('[data-testid="timeline-item"]:not([data-late-entry])').allInnerTexts();
  assert.equal(others.length, await items.count() - 1);
  for (const text of others) assert.doesNotMatch(text, /Late entry|Entered late|Recorded late|Claimed to have occurred/);
  await shot('account-late-entry');
  await marked.scrollIntoViewIfNeeded();
  await marked.screenshot({ path: path.join(artifacts, 'account-late-entry-item.png') });
});

test('the economics chart has a point for every year of published economics', async () => {
  phase = 'economics';
  await go('#/economics/nordic-foods');
  const economics = await apiGet('/api/programmes/emea-kam/accounts/nordic-foods/economics');
  const years = economics.years.map((y) => String(y.year));
  assert.ok(years.length >= 2, 'two years of monthly economics or more');
  const charts = page.getByTestId('economics-chart');
  const shown = await charts.evaluateAll((els) => els.map((e) => e.dataset.years).filter(Boolean));
  assert.ok(shown.length >= 1, 'a yearly chart');
  assert.deepEqual(shown[0].split(','), years);
  await shot('economics-account');
  await go('#/economics');
  await shot('economics-portfolio');
});

test('a new event appears in the live feed within a second of its acknowledgement', async () => {
  phase = 'live';
  await go('#/live');
  await page.waitForFunction(() => /connected/i.test(document.querySelector('.conn')?.textContent ?? ''), null, { timeout: 20000 });
  const account = `live-${Date.now()}`;
  await stack.kamctl(['nominate', 'emea-kam', account, 'Live Check Ltd', 'Seen on the dashboard'], 'kam');
  const acknowledged = Date.now();
  await page.locator('[data-testid="live-event"]', { hasText: 'Live Check Ltd' }).first().waitFor({ timeout: 10000 });
  const latency = Date.now() - acknowledged;
  assert.ok(latency < 1000, `the event appeared ${latency} ms after its acknowledgement`);
  await shot('live');
});

test('the print view makes a board pack of the overview, the register and the economics', async () => {
  phase = 'print';
  await go('#/print');
  const pack = await page.getByTestId('print-view').innerText();
  assert.match(pack, /Overview/);
  assert.match(pack, /Register|register/);
  assert.match(pack, /Economics/);
  await page.emulateMedia({ media: 'print' });
  await shot('print');
  await page.emulateMedia({ media: 'screen' });
});

test('the page logged no error in the console', async () => {
  // A refused login is a 401 the browser reports itself; nothing else may be in the console.
  const unexpected = consoleErrors.filter((e) => !(e.phase === 'wrong-token' && /status of 401/.test(e.text)));
  assert.deepEqual(unexpected, []);
});
