// The `tally tree --format html` page in headless Chromium: no console errors, every node box
// drawn with its text inside, no two boxes overlapping; a full-page screenshot is written.
//
//   node check.cjs PAGE.html SCREENSHOT.png [MAX_WIDTH]   (TALLY_BROWSER, NODE_PATH as for the docs checks)
//
// With MAX_WIDTH, the picture (the page's svg) must be narrower than that many pixels.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');

const [page, shot, maxWidth] = process.argv.slice(2);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-chromium-'));
  const context = await chromium.launchPersistentContext(dataDir, {
    executablePath: process.env.TALLY_BROWSER || '/usr/bin/chromium',
    headless: true, args: ARGS, viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1,
  });
  const p = context.pages()[0] || await context.newPage();
  const problems = [];
  p.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  p.on('pageerror', (e) => problems.push('page error: ' + e.message));
  p.on('requestfailed', (r) => problems.push('request: ' + r.url()));
  await p.goto(pathToFileURL(page).href);
  const boxes = await p.$$eval('g.node > rect:first-of-type', (rs) => rs.map((r) => {
    const b = r.getBoundingClientRect();
    const texts = [...r.parentNode.querySelectorAll('text')].map((t) => t.getBoundingClientRect());
    return { x: b.x, y: b.y, w: b.width, h: b.height,
      inside: texts.every((t) => t.width === 0 || (t.left >= b.left - 1 && t.right <= b.right + 1 && t.top >= b.top - 1 && t.bottom <= b.bottom + 1)) };
  }));
  if (boxes.length < 10) problems.push(`only ${boxes.length} nodes`);
  const svg = await p.$eval('svg', (e) => { const b = e.getBoundingClientRect(); return { w: b.width, h: b.height }; });
  if (maxWidth && svg.w >= Number(maxWidth)) problems.push(`the picture is ${svg.w} px wide (limit ${maxWidth})`);
  const legend = await p.$$eval('g.legend text', (ts) => ts.map((t) => t.textContent));
  ['on track', 'at risk', 'off track'].forEach((l) => { if (!legend.includes(l)) problems.push(`legend lacks "${l}"`); });
  const owners = await p.$$eval('g.node text.owner', (ts) => ts.length);
  if (owners < boxes.length / 2) problems.push(`only ${owners} owner labels on ${boxes.length} nodes`);
  boxes.forEach((b, i) => { if (!b.inside) problems.push(`node ${i}: text outside its box`); });
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) problems.push(`nodes ${i} and ${j} overlap`);
    }
  }
  await p.screenshot({ path: shot, fullPage: true });
  await context.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(`nodes: ${boxes.length}; picture: ${svg.w}x${svg.h} px; screenshot: ${shot}`);
  problems.forEach((m) => console.log('FAIL ' + m));
  process.exit(problems.length ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
