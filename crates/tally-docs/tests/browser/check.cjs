// Browser checks of a generated tally docs site, in headless Chromium driven by playwright-core.
//
//   node check.cjs SITE_DIR ARTEFACT_DIR
//
// Environment: TALLY_BROWSER (the Chromium executable), NODE_PATH (where playwright-core is).
// Prints one line per failed check and `N passed, N failed`; exits 1 when a check failed.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL, fileURLToPath } = require('url');

const [site, artefacts] = process.argv.slice(2);
if (!site || !artefacts) {
  console.error('usage: node check.cjs SITE_DIR ARTEFACT_DIR');
  process.exit(2);
}
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; } else { failed++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}

function htmlFiles(dir, rel = '') {
  let out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? rel + '/' + e.name : e.name;
    if (e.isDirectory()) out = out.concat(htmlFiles(dir, r));
    else if (e.name.endsWith('.html')) out.push(r);
  }
  return out.sort();
}
const url = (rel) => pathToFileURL(path.join(site, rel)).href;

async function launch(javaScriptEnabled) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-chromium-'));
  const context = await chromium.launchPersistentContext(dataDir, {
    executablePath: process.env.TALLY_BROWSER || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    javaScriptEnabled,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
  });
  return { context, dataDir };
}

async function main() {
  fs.mkdirSync(artefacts, { recursive: true });
  const on = await launch(true);
  const page = on.context.pages()[0] || await on.context.newPage();
  let problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));

  // Every page loads without errors; its links and anchors resolve; landmarks and headings.
  const pages = htmlFiles(site);
  check('the site has pages', pages.length > 10, `${pages.length} pages`);
  const idsOf = new Map();
  const anchors = [];
  for (const rel of pages) {
    problems = [];
    await page.goto(url(rel), { waitUntil: 'load' });
    const info = await page.evaluate(() => ({
      links: Array.from(document.querySelectorAll('a[href], link[href], script[src]'))
        .map((e) => new URL(e.getAttribute('href') || e.getAttribute('src'), location.href).href),
      ids: Array.from(document.querySelectorAll('[id]')).map((e) => e.id),
      h1: document.querySelectorAll('h1').length,
      main: document.querySelectorAll('main').length,
      lang: document.documentElement.lang,
      svgsWithoutTitle: Array.from(document.querySelectorAll('svg')).filter((s) => !s.querySelector('title')).length,
      title: document.title,
    }));
    idsOf.set(path.join(site, rel), new Set(info.ids));
    const broken = [];
    for (const l of info.links) {
      if (!l || !l.startsWith('file:')) continue;
      const u = new URL(l);
      const file = fileURLToPath('file://' + u.pathname);
      if (!fs.existsSync(file)) broken.push(l);
      else if (u.hash) anchors.push([rel, file, decodeURIComponent(u.hash.slice(1))]);
    }
    check(`${rel} loads without console errors`, problems.length === 0, problems.join('; '));
    check(`${rel} links resolve`, broken.length === 0, broken.join(', '));
    check(`${rel} has one h1, a main landmark and a language`, info.h1 === 1 && info.main === 1 && info.lang === 'en', JSON.stringify(info));
    check(`${rel} pictures have titles`, info.svgsWithoutTitle === 0);
  }
  const badAnchors = anchors.filter(([, file, id]) => {
    const ids = idsOf.get(file);
    return ids && !ids.has(id);
  });
  check('every anchor points at an element', badAnchors.length === 0, JSON.stringify(badAnchors.slice(0, 5)));

  // Keyboard: the first Tab reaches the skip link, with a visible focus style.
  await page.goto(url('index.html'));
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => ({
    cls: document.activeElement && document.activeElement.className,
    outline: getComputedStyle(document.activeElement).outlineStyle,
  }));
  check('the first Tab focuses the skip link, with a visible outline', focus.cls === 'skip' && focus.outline !== 'none', JSON.stringify(focus));

  // Search finds CSAT by a word of its description, and the result opens its page.
  problems = [];
  await page.goto(url('index.html'));
  await page.screenshot({ path: path.join(artefacts, 'docs-home.png') });
  await page.focus('#search-input');
  await page.keyboard.type('scale');
  const hit = page.locator('#search-results a[href$="metrics/csat.html"]');
  await hit.first().waitFor({ timeout: 10000 }).catch(() => {});
  check('search finds csat by the word "scale" of its description', (await hit.count()) > 0,
    await page.locator('#search-results').innerText().catch(() => ''));
  await page.screenshot({ path: path.join(artefacts, 'docs-search.png') });
  await page.fill('#search-input', 'Aisha');
  await page.locator('#search-results a[href*="metrics/"]').first().waitFor({ timeout: 10000 }).catch(() => {});
  // Aisha Khan owns (accountable or responsible) these metrics of the repository's project; a
  // search for her name lists metrics, every one of them hers.
  const hers = ['csat', 'reopen_rate', 'repeat_contact_rate', 'positive_ratings', 'rated_conversations',
    'reopened_conversations', 'repeat_contacts', 'teammate_csat', 'teammate_positive_ratings',
    'teammate_rated_conversations', 'rating_response_rate', 'rating_eligible_conversations',
    'rated_eligible_conversations'];
  const found = await page.locator('#search-results a[href*="metrics/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  check('search finds metrics by owner', found.length > 0 && found.some((h) => hers.some((m) => h.endsWith(`metrics/${m}.html`))), found.join(' '));
  await page.fill('#search-input', 'scale');
  await page.locator('#search-results a[href$="metrics/csat.html"]').first().waitFor({ timeout: 10000 }).catch(() => {});
  await page.focus('#search-input');
  await page.keyboard.press('ArrowDown');
  const firstResult = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('href'));
  check('ArrowDown moves into the results', !!firstResult && firstResult.length > 0, String(firstResult));
  await Promise.all([page.waitForURL(/metrics\/csat\.html$/), page.locator('#search-results a[href$="metrics/csat.html"]').first().click()]).catch(() => {});
  check('a search result opens the metric', page.url().endsWith('metrics/csat.html'), page.url());
  check('search runs without console errors', problems.length === 0, problems.join('; '));

  // The metric page: the dialect switcher, then a screenshot.
  await page.goto(url('metrics/csat.html'));
  const tabs = await page.locator('[role="tab"]').count();
  check('the SQL switcher has a tab per dialect', tabs === 7, `${tabs} tabs`);
  await page.locator('[role="tab"]', { hasText: 'snowflake' }).click();
  const visible = await page.evaluate(() => ({
    snowflake: !document.getElementById('sql-snowflake').hidden,
    duckdb: !document.getElementById('sql-duckdb').hidden,
  }));
  check('choosing snowflake shows its SQL only', visible.snowflake && !visible.duckdb, JSON.stringify(visible));
  await page.locator('[role="tab"]', { hasText: 'duckdb' }).click();
  await page.screenshot({ path: path.join(artefacts, 'docs-metric.png'), fullPage: true });
  await page.goto(url('metrics/csat.html') + '#lineage');
  await page.screenshot({ path: path.join(artefacts, 'docs-lineage.png') });
  const owners = await page.locator('#owners').innerText();
  check('the csat page names its accountable owner', /accountable\s+Aisha Khan/i.test(owners), owners);
  await on.context.close();

  // JavaScript off: everything reads as plain HTML.
  const off = await launch(false);
  const p2 = off.context.pages()[0] || await off.context.newPage();
  await p2.goto(url('metrics/csat.html'));
  const plain = await p2.evaluate(() => ({
    h1: document.querySelector('h1').textContent,
    owners: document.getElementById('owners').innerText,
    formula: document.querySelector('.formula').innerText,
    snowflakeShown: document.getElementById('sql-snowflake').offsetHeight > 0,
    svgShown: document.querySelector('#lineage svg').getBoundingClientRect().height > 0,
    tabs: document.querySelectorAll('[role="tab"]').length,
  }));
  check('JS off: the metric page reads', plain.h1 === 'CSAT (positive share)' && /Aisha Khan/.test(plain.owners)
    && /positive_ratings \/ rated_conversations/.test(plain.formula), JSON.stringify(plain));
  check('JS off: every dialect\'s SQL is shown', plain.snowflakeShown && plain.tabs === 0, JSON.stringify(plain));
  check('JS off: the lineage picture is shown', plain.svgShown);
  await p2.screenshot({ path: path.join(artefacts, 'docs-metric-nojs.png') });
  await p2.goto(url('index.html'));
  await p2.fill('#search-input', 'csat');
  await Promise.all([p2.waitForNavigation(), p2.press('#search-input', 'Enter')]);
  check('JS off: the search form opens the list of metrics', p2.url().includes('metrics/index.html'), p2.url());
  const listed = await p2.locator('a[href$="csat.html"]').count();
  check('JS off: the list of metrics links csat', listed > 0);
  await off.context.close();
  for (const d of [on.dataDir, off.dataDir]) fs.rmSync(d, { recursive: true, force: true });

  console.log(`screenshots: ${artefacts}`);
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL the browser checks crashed: ${e.stack || e}`);
  console.log(`browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
