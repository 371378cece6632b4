/*
 * dashboard.js - drives Debian's Chromium (puppeteer-core, headless)
 * through the dashboard a real `strata run` serves (tests/dashboard/
 * dashboard.sh makes the world: registry, git remotes, a signature
 * policy, an API token). Prints one line per check, "ok - ..." or
 * "not ok - ..." (and "# ..." comments); dashboard.sh numbers them.
 *
 * Environment: DASH_URL (http://127.0.0.1:PORT), API_TOKEN, BASE, RUNTIME,
 * APP, WEB (image references), REG_PY and REG_PORT (to push a new base
 * digest), OUT_DIR (screenshots), CHROMIUM.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const puppeteer = require('puppeteer-core');

const env = process.env;
const URL0 = env.DASH_URL;
const TOKEN = env.API_TOKEN;
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
let failed = 0;

function ok(cond, desc, detail) {
  console.log((cond ? 'ok - ' : 'not ok - ') + desc);
  if (!cond) {
    failed++;
    if (detail) String(detail).split('\n').forEach((l) => console.log('# ' + l));
  }
  return cond;
}
function note(s) {
  console.log('# ' + s);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function apiGet(p) {
  const r = await fetch(URL0 + p, { headers: { Authorization: 'Bearer ' + TOKEN } });
  return r.json();
}

async function waitFor(page, fn, arg, timeout) {
  try {
    await page.waitForFunction(fn, { polling: 50, timeout: timeout || 15000 }, arg);
    return true;
  } catch (e) {
    return false;
  }
}

/* Navigates with the page's own nav link (a click on a real <a>). */
async function go(page, name) {
  const before = await page.$eval('#view', (v) => v.dataset.ready || '');
  await page.click(`.top nav a[data-page="${name}"]`);
  return waitFor(page, (a) => {
    const v = document.getElementById('view');
    return v.dataset.page === a.name && v.dataset.ready !== a.before;
  }, { name, before });
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, n: v.nodes.length, help: v.help,
      target: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  res.filter((v) => !bad.includes(v)).forEach((v) => note(`${name}: axe ${v.impact} ${v.id} (${v.n})`));
  ok(bad.length === 0, `${name}: axe-core finds no serious or critical violation`,
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.target.join(', ')}`).join('\n'));
}

async function shoot(page, name, width) {
  const file = path.join(env.OUT_DIR, `${name}-${width}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  const elsewhere = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(URL0 + '/') && !r.url().startsWith('data:')) elsewhere.push(r.url());
  });
  await page.setViewport({ width: 1280, height: 900 });

  /* ---- the page loads without the token and asks for it ------------ */
  const resp = await page.goto(URL0 + '/#/overview', { waitUntil: 'domcontentloaded' });
  const h = resp.headers();
  ok(resp.status() === 200, 'GET / answers 200 without the token');
  ok((h['content-security-policy'] || '').includes("script-src 'self'") &&
    (h['content-security-policy'] || '').includes("default-src 'none'"), 'the page has the Content-Security-Policy',
  h['content-security-policy']);
  ok(h['x-content-type-options'] === 'nosniff' && h['referrer-policy'] === 'no-referrer',
    'and X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer');
  ok(await waitFor(page, () => document.getElementById('token-box').open), 'the page asks for the API token (401)');

  /* The token, typed into the page and submitted with Enter. */
  await page.focus('#token-input');
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  ok(await waitFor(page, (b) => [...document.querySelectorAll('.base-card h3')].some((e) => e.textContent === b), env.BASE),
    'fleet: the watched base has its card once the token is entered');
  ok(await page.evaluate(() => sessionStorage.getItem('strata.api-token') !== null && !location.href.includes('token')),
    'the token is kept in sessionStorage, not in the URL');
  ok(await waitFor(page, () => document.getElementById('live').textContent === 'live'), 'the event stream is connected');
  const overview = await page.evaluate(() => ({
    summary: (document.getElementById('summary') || {}).textContent || '',
    teams: document.querySelectorAll('#view table')[0] ? document.querySelectorAll('#view table')[0].rows.length : 0,
    digests: [...document.querySelectorAll('.base-card .digests li')].map((l) => l.textContent),
  }));
  const report = await apiGet('/api/v1/report');
  ok(overview.summary.startsWith(`${report.summary.images} images: ${report.summary.current} current`),
    'fleet: the summary is the stale report\'s', overview.summary);
  ok(overview.digests.some((d) => /2 images \(current\)/.test(d)),
    'fleet: 2 images (runtime, web) are on the base\'s current digest', overview.digests.join(' | '));
  ok(overview.digests.some((d) => /1 image \(current\)/.test(d)),
    'fleet: 1 image (the app) is on the runtime\'s current digest', overview.digests.join(' | '));
  ok(overview.teams >= 2, 'fleet: stale counts by team are shown');

  /* ---- every page: DOM, keyboard, axe, screenshots at both widths ---- */
  const pages = ['overview', 'rollouts', 'lineage', 'jobs', 'approvals'];
  for (const p of pages) {
    ok(await go(page, p), `${p}: reached through its nav link`);
    const h1 = await page.$eval('#view h1', (e) => e.textContent).catch(() => '');
    ok(h1.length > 0, `${p}: has a heading ("${h1}")`);
    if (p === 'lineage') {
      const tree = await page.evaluate((a) => {
        const li = (ref) => document.querySelector(`.tree li[data-ref="${CSS.escape(ref)}"]`);
        const rt = li(a.rt);
        return { rt: !!rt, app: !!(rt && rt.querySelector(`li[data-ref="${CSS.escape(a.app)}"]`)), web: !!li(a.web),
          pick: document.getElementById('base-pick').value };
      }, { rt: env.RUNTIME, app: env.APP, web: env.WEB });
      ok(tree.pick === env.BASE, 'lineage: the base is picked', tree.pick);
      ok(tree.rt && tree.web, 'lineage: the runtime and web images are children of the base');
      ok(tree.app, 'lineage: the app is under the runtime (depth 2)');
      const links = await page.$$eval('.tree li .node-meta', (ms) => ms.map((m) => m.textContent));
      ok(links.some((t) => /Dockerfile:\d+/.test(t)), 'lineage: nodes show their Dockerfile line', links.join(' | '));
      /* Keyboard: Tab to the runtime's summary, Enter folds it. */
      await page.focus(`.tree li[data-ref="${env.RUNTIME}"] > details > summary`);
      await page.keyboard.press('Enter');
      ok(await page.$eval(`.tree li[data-ref="${env.RUNTIME}"] > details`, (d) => !d.open),
        'lineage: Enter on a node folds its subtree (keyboard)');
      await page.keyboard.press('Enter');
      const focused = await page.evaluate(() => document.activeElement.tagName);
      ok(focused === 'SUMMARY', 'lineage: the node keeps the focus');
    }
    if (p === 'jobs') {
      const n = await page.$$eval('#events-body tr', (r) => r.length);
      ok(n > 0, `jobs: the event log is listed (${n} events)`);
      await page.select('#f-type', 'base.first_seen');
      const types = await page.$$eval('#events-body tr', (r) => [...new Set(r.map((x) => x.dataset.type))]);
      ok(types.length === 1 && types[0] === 'base.first_seen', 'jobs: the event type filter keeps only that type', types.join(','));
      await page.select('#f-type', '');
    }
    if (p === 'approvals') {
      /* The first sighting, unsigned, is quarantined already. */
      const held = await page.$$eval('button.approve', (bs) => bs.map((b) => b.dataset.ref));
      ok(held.includes(env.BASE), 'approvals: the base\'s unsigned first sighting is held', held.join(','));
    }
    await axe(page, p);
    await shoot(page, p, 1280);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    ok(wide <= 1280, `${p}: fits 1280 px (${wide})`);
  }
  /* Focus is visible: a focused nav link has an outline. */
  await page.focus('.top nav a[data-page="overview"]');
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  ok(outline !== 'none', 'the keyboard focus is visible (' + outline + ')');

  /* ---- live: a new base digest pushed to the registry shows up ------- */
  await go(page, 'jobs');
  await page.evaluate(() => {
    window.__notReloaded = true;
  });
  const before = await apiGet('/api/v1/events?tail=1');
  const lastId = before.items.length ? before.items[0].id : 0;
  /* libc6 2.36 -> 3.0: once approved unsigned, hold_on holds it. */
  const dpkg = [['bash', '5.2.15-2'], ['libc6', '3.0-1']]
    .map(([n, v]) => `Package: ${n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${v}\n\n`).join('');
  const manifest = JSON.stringify({ name: 'library/debian', tag: '12-slim', created: '2026-01-01T00:00:00Z',
    layers: [{ files: { 'etc/mark': 'dashboard-v2\n', 'var/lib/dpkg/status': dpkg,
      'etc/os-release': 'ID=debian\nVERSION_ID="12"\n' } }] });
  const out = execFileSync('/usr/bin/python3', [env.REG_PY, 'seed', '--port', env.REG_PORT, '-'], { input: manifest });
  const v2 = JSON.parse(out.toString()).digest;
  note('pushed ' + env.BASE + ' ' + v2);
  /* When the store has the first new event, and when the page shows it. */
  let tApi = 0;
  let firstNew = null;
  const deadline = Date.now() + 30000;
  const seen = page.waitForFunction((id) => [...document.querySelectorAll('#events-body tr')].some((r) => Number(r.dataset.id) > id),
    { polling: 20, timeout: 30000 }, lastId).then(() => Date.now()).catch(() => 0);
  while (Date.now() < deadline && !tApi) {
    const r = await apiGet('/api/v1/events?after=' + lastId + '&limit=1');
    if (r.items.length) {
      tApi = Date.now();
      firstNew = r.items[0];
    } else {
      await sleep(20);
    }
  }
  const tDom = await seen;
  ok(tApi > 0 && tDom > 0, 'live: the event of the push shows on the page without a reload',
    `api ${tApi} dom ${tDom}`);
  if (tApi && tDom) {
    note(`event ${firstNew.id} ${firstNew.type}: in the page ${tDom - tApi} ms after the API listed it`);
    ok(tDom - tApi < 1000, 'live: within one second of the store having it (' + (tDom - tApi) + ' ms)');
  }
  ok(await page.evaluate(() => window.__notReloaded === true), 'live: the page was not reloaded');
  const latest = await page.$eval('#latest', (e) => e.textContent);
  ok(/^Latest event: /.test(latest), 'live: the footer names the latest event', latest);

  /* ---- approval through the page ------------------------------------- */
  await go(page, 'approvals');
  const held = await waitFor(page, (a) => [...document.querySelectorAll('button.approve')]
    .some((b) => b.dataset.ref === a.base && b.dataset.digest === a.v2 && b.dataset.state === 'quarantined'),
  { base: env.BASE, v2 }, 30000);
  ok(held, 'approvals: the unsigned push is quarantined, with an approve button (live)');
  await axe(page, 'approvals (held)');
  await shoot(page, 'approvals-held', 1280);
  if (held) {
    const sel = `button.approve[data-digest="${v2}"]`;
    await page.focus(sel);
    await page.keyboard.press('Enter');
    ok(await waitFor(page, () => /^Approved /.test(document.getElementById('approve-status').textContent), null, 10000),
      'approvals: the page says it was approved', await page.$eval('#approve-status', (e) => e.textContent).catch(() => ''));
    const bases = await apiGet('/api/v1/bases');
    const b = bases.items.find((x) => x.ref === env.BASE);
    ok(b && b.verify && b.verify.state === 'approved' && b.verify.digest === v2, 'approvals: the API says approved',
      JSON.stringify(b && b.verify));
    ok(await waitFor(page, (a) => [...document.querySelectorAll('#view tr[data-ref]')]
      .some((r) => r.dataset.ref === a && /approved/.test(r.textContent)), env.BASE, 10000),
    'approvals: the page shows the base approved');
    const ev = await apiGet('/api/v1/events?type=base.unsigned_approved');
    ok(ev.items.some((e) => e.payload && e.payload.digest === v2), 'approvals: base.unsigned_approved recorded');
  }

  /* ---- hold_on: the approved digest's libc6 3.0 holds the update ------ */
  const updSel = `button.approve-update[data-ref="${env.BASE}"][data-digest="${v2}"]`;
  const cardSel = `section.held-update[data-ref="${env.BASE}"]`;
  const heldUpd = await waitFor(page, (sel) => !!document.querySelector(sel), updSel, 30000);
  ok(heldUpd, 'approvals: the update is then held by hold_on, with an approve button (live)');
  const card = await page.$eval(cardSel, (c) => c.textContent).catch(() => '');
  ok(card.includes('Held: libc6 2.36-9 → 3.0-1'), 'approvals: the held update gives the reason', card);
  ok(/Packages: 1 package upgraded/.test(card), 'approvals: ... and the package summary', card);
  ok(await page.$$eval(`${cardSel} .changes li`, (li) => li.map((x) => x.textContent).join('|')) === 'libc6 2.36-9 → 3.0-1',
    'approvals: ... and the major version jump listed');
  const hb = (await apiGet('/api/v1/bases')).items.find((x) => x.ref === env.BASE);
  ok(hb && hb.update && hb.update.state === 'held' && hb.update.new === v2 &&
    hb.update.hold_reason === 'libc6 2.36-9 → 3.0-1' && /upgraded/.test(hb.update.evidence.summary),
  'GET /api/v1/bases: the base\'s update is held, with the reason and the package summary', JSON.stringify(hb && hb.update));
  await axe(page, 'approvals (held update)');
  await shoot(page, 'approvals-hold', 1280);
  await go(page, 'overview');
  ok(await waitFor(page, (a) => [...document.querySelectorAll('.base-card')].some((c) =>
    c.getAttribute('aria-label') === a && /Update .*held: libc6/.test(c.textContent)), env.BASE, 10000),
  'fleet: the base\'s card says its update is held, and why');
  await go(page, 'approvals');
  if (heldUpd && await page.$(updSel)) {
    await page.focus(updSel);
    await page.keyboard.press('Enter');
    ok(await waitFor(page, () => /^Approved the update /.test(document.getElementById('approve-status').textContent), null, 10000),
      'approvals: the page says the update was approved',
      await page.$eval('#approve-status', (e) => e.textContent).catch(() => ''));
    ok(await waitFor(page, (sel) => !document.querySelector(sel), cardSel, 15000),
      'approvals: the hold is gone from the page');
    const ab = (await apiGet('/api/v1/bases')).items.find((x) => x.ref === env.BASE);
    ok(ab && !ab.update, 'GET /api/v1/bases: no pending update once approved (planned)', JSON.stringify(ab && ab.update));
  }

  /* ---- rollouts: the approved digest is planned, jobs by wave --------- */
  await go(page, 'rollouts');
  ok(await waitFor(page, (d) => [...document.querySelectorAll('.rollout code')].some((c) => c.title === d), v2, 30000),
    'rollouts: the approved digest\'s jobs are listed (live)');
  const waves = await page.$$eval('.rollout caption', (c) => c.map((x) => x.textContent));
  ok(waves.includes('Wave 0') && waves.includes('Wave 1'), 'rollouts: grouped by wave', waves.join(','));
  await shoot(page, 'rollouts-live', 1280);

  /* ---- lineage -> a node's jobs ---------------------------------------- */
  await go(page, 'lineage');
  const jobsLink = `.tree li[data-ref="${env.APP}"] > .node-meta > a[href^="#/jobs/"]`;
  ok(await waitFor(page, (sel) => !!document.querySelector(sel), jobsLink, 10000), 'lineage: the app\'s node links to its jobs');
  if (await page.$(jobsLink)) {
    const before = await page.$eval('#view', (v) => v.dataset.ready || '');
    await page.focus(jobsLink);
    await page.keyboard.press('Enter');
    await waitFor(page, (b) => document.getElementById('view').dataset.page === 'jobs' &&
      document.getElementById('view').dataset.ready !== b, before);
    const rows = await page.$$eval('#jobs-box tbody tr', (r) => r.map((x) => x.cells[1].textContent));
    ok(rows.length > 0 && rows.every((x) => x === env.APP), 'jobs: reached from the node, filtered to the app\'s jobs',
      rows.join(','));
    ok(await page.$eval('#f-text', (i) => i.value) === env.APP, 'jobs: the text filter says so');
    /* A live refresh keeps the filter's focus and text. */
    await page.focus('#f-text');
    await page.keyboard.press('End');
    await page.keyboard.type(' ');
    await page.keyboard.press('Backspace');
    const latestBefore = await page.$eval('#latest', (e) => e.textContent);
    execFileSync('/usr/bin/python3', [env.REG_PY, 'seed', '--port', env.REG_PORT, '-'], { input: JSON.stringify({
      name: 'library/debian', tag: '12-slim', created: '2026-01-01T00:00:00Z', layers: [{ files: { 'etc/mark': 'v3\n' } }] }) });
    const arrived = await waitFor(page, (b) => document.getElementById('latest').textContent !== b, latestBefore, 15000);
    ok(arrived, 'jobs: the next push\'s event arrives while the filter is focused');
    await sleep(800); /* the refresh it brings (300 ms later) is done */
    const st = await page.evaluate(() => ({ id: document.activeElement.id, v: document.getElementById('f-text').value }));
    ok(st.id === 'f-text' && st.v === env.APP, 'jobs: a live update keeps the focused filter and its text', JSON.stringify(st));
    await page.evaluate(() => {
      document.getElementById('f-text').value = '';
      document.getElementById('f-text').dispatchEvent(new Event('input'));
    });
  }

  /* ---- 390 px wide, and dark mode ------------------------------------ */
  await page.setViewport({ width: 390, height: 844 });
  for (const p of pages) {
    await go(page, p);
    await sleep(100);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    ok(wide <= 390, `${p}: fits 390 px without sideways scrolling (${wide})`);
    await shoot(page, p, 390);
  }
  await page.setViewport({ width: 1280, height: 900 });
  const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
  const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  ok(light !== dark, `dark mode: the colours follow prefers-color-scheme (${light} / ${dark})`);
  await go(page, 'overview');
  await axe(page, 'overview (dark)');
  await shoot(page, 'overview-dark', 1280);
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  await go(page, 'rollouts');
  await go(page, 'overview');
  await sleep(200);
  await shoot(page, 'overview', 1280);

  ok(elsewhere.length === 0, 'self-contained: every request went to the daemon (no CDN, works offline)',
    elsewhere.slice(0, 5).join('\n'));
  ok(problems.filter((p) => !/status of 401/.test(p)).length === 0,
    'no script error and no Content-Security-Policy violation in the console', problems.join('\n'));
  await browser.close();
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log('not ok - the browser run ended early');
  console.log('# ' + String(e && e.stack ? e.stack : e).split('\n').join('\n# '));
  process.exit(1);
});
