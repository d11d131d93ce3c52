/* filter.mjs — the cluster filter of the dashboard (issue 15 item 1), driven
 * by tests/it_browser_filter.py: a panel with more clusters than the full
 * view holds, in two Sentinel groups (HAPANEL_GROUPS), so #clusters is the
 * compact table (tr.crow) with a header row (tr.grow) per group. It checks:
 *  1. every row shown at first, a header per group, the filter input
 *     labelled, the group select shown with the groups, and no serious or
 *     critical axe-core violation with the filter bar;
 *  2. typing a full cluster name (HAPANEL_PICK) leaves exactly that row
 *     visible, the others hidden (the [hidden] attribute, display none), and
 *     the count says "1 of N shown";
 *  3. across at least two live swaps (3 s: the page gets a new fragment
 *     every second, or on every change over the stream) the input keeps
 *     the keyboard focus and its text, and the filter still holds on the
 *     new rows (the swap re-applies it);
 *  4. a reload keeps the filter (sessionStorage) and applies it;
 *  5. Escape in the input clears it: every row visible again;
 *  6. choosing a group in the select leaves that group's rows and header,
 *     the other group's header hidden; kept across a reload.
 * A screenshot of the filtered table goes to HAPANEL_BROWSER_OUT. Prints one
 * {"result": {ok, failures, steps, screenshots}} line. */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { launch, openDashboard, say, send, stopInput } from './lib.mjs';

const base = process.env.HAPANEL_URL;
const token = process.env.HAPANEL_TOKEN;
const pick = process.env.HAPANEL_PICK;
const total = Number(process.env.HAPANEL_NCLUSTERS);
const groups = (process.env.HAPANEL_GROUPS || '').split(',');
const out = process.env.HAPANEL_BROWSER_OUT || '.';
const failures = [];
const steps = [];
const shots = [];
function check(ok, what) {
  if (!ok) failures.push(what);
  say((ok ? 'ok   ' : 'FAIL ') + what);
  return ok;
}

async function rowsNow(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('#clusters tr.crow')).map((tr) => ({
    name: tr.getAttribute('data-cluster'),
    group: tr.getAttribute('data-group'),
    hidden: tr.hidden,
    shown: tr.getBoundingClientRect().height > 0
  })));
}

async function axe(page, label) {
  const require = createRequire(import.meta.url);
  const src = fs.readFileSync(path.join(path.dirname(require.resolve('axe-core')), 'axe.min.js'), 'utf8');
  await page.evaluate(src);
  const v = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((x) => ({ id: x.id, impact: x.impact, targets: x.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  for (const x of v) say('axe [' + label + '] ' + x.impact + ' ' + x.id + ' ' + x.targets.join(', '));
  const bad = v.filter((x) => x.impact === 'serious' || x.impact === 'critical');
  check(!bad.length, 'axe-core [' + label + ']: no serious/critical violation (' +
        bad.map((x) => x.id + ' at ' + x.targets.join(', ')).join('; ') + ')');
}

async function main() {
  const browser = await launch();
  try {
    const { page, problems } = await openDashboard(browser, base, token);
    await page.waitForFunction((n) => document.querySelectorAll('#clusters tr.crow').length === n,
      total, { timeout: 20000 });
    /* 1 */
    let rows = await rowsNow(page);
    check(rows.length === total && rows.every((r) => r.shown), 'all ' + total + ' rows shown at first');
    check(await page.evaluate(() => !!document.querySelector('label[for="cfilter"]')), 'the filter has a label');
    const heads = await page.evaluate(() => Array.from(document.querySelectorAll('#clusters tr.grow')).map((r) => r.getAttribute('data-group')));
    check(heads.join(',') === groups.join(','), 'a header row per group, in order (' + heads.join(',') + ')');
    const opts = await page.evaluate(() => {
      const s = document.getElementById('gfilter');
      return { hidden: s.hidden, values: Array.from(s.options).map((o) => o.value) };
    });
    check(!opts.hidden && opts.values.join(',') === ',' + groups.join(','), 'the group select is shown with the groups (' + JSON.stringify(opts) + ')');
    await axe(page, 'dashboard with the filter bar');
    steps.push('initial');

    /* 2 */
    await page.click('#cfilter');
    await page.keyboard.type(pick, { delay: 20 });
    rows = await rowsNow(page);
    const vis = rows.filter((r) => r.shown).map((r) => r.name);
    check(vis.length === 1 && vis[0] === pick, 'typing "' + pick + '" leaves that row alone (' + vis.join(',') + ')');
    check(rows.filter((r) => r.name !== pick).every((r) => r.hidden), 'the other rows are [hidden]');
    const count = await page.textContent('#cfcount');
    check(count === '1 of ' + total + ' shown', 'the count says 1 of ' + total + ' shown (' + count + ')');
    /* the cost of one keystroke's filtering over every row (synchronous on
     * input), logged as a figure, not asserted (speed is for bench/) */
    const filterMs = await page.evaluate((p) => {
      const i = document.getElementById('cfilter');
      const t0 = performance.now();
      for (let k = 0; k < 20; k++) {
        i.value = k % 2 ? p : p.slice(0, -1);
        i.dispatchEvent(new Event('input', { bubbles: true }));
      }
      return (performance.now() - t0) / 20;
    }, pick);
    steps.push('filter ' + filterMs.toFixed(2) + ' ms per keystroke over ' + total + ' rows');
    const shot = path.join(out, 'filter-compact.png');
    await page.screenshot({ path: shot, fullPage: true });
    shots.push(shot);
    steps.push('typed');

    /* 3 */
    const swaps0 = await page.evaluate(() => window.__hp.swaps);
    await page.waitForTimeout(3000);
    const swaps1 = await page.evaluate(() => window.__hp.swaps);
    check(swaps1 > swaps0, 'the page was swapped meanwhile (' + (swaps1 - swaps0) + ' mutations)');
    check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'cfilter'),
      'the input kept the focus across the live swaps');
    check(await page.inputValue('#cfilter') === pick, 'and its text');
    rows = await rowsNow(page);
    check(rows.filter((r) => r.shown).map((r) => r.name).join(',') === pick, 'the filter holds on the new rows');
    steps.push('swaps');

    /* 4 */
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction((n) => document.querySelectorAll('#clusters tr.crow').length === n,
      total, { timeout: 20000 });
    check(await page.inputValue('#cfilter') === pick, 'a reload keeps the filter text (sessionStorage)');
    rows = await rowsNow(page);
    check(rows.filter((r) => r.shown).length === 1, 'and applies it (' + rows.filter((r) => r.shown).length + ' shown)');
    steps.push('reload');

    /* 5 */
    await page.focus('#cfilter');
    await page.keyboard.press('Escape');
    rows = await rowsNow(page);
    check(rows.every((r) => r.shown) && await page.inputValue('#cfilter') === '', 'Escape clears the filter');
    steps.push('escape');

    /* 6 */
    const want = groups[groups.length - 1];
    await page.selectOption('#gfilter', want);
    rows = await rowsNow(page);
    const inG = rows.filter((r) => r.group === want);
    check(inG.length > 0 && inG.every((r) => r.shown) && rows.filter((r) => r.group !== want).every((r) => r.hidden),
      'the group "' + want + '" chosen: its ' + inG.length + ' rows alone shown');
    const gh = await page.evaluate(() => Array.from(document.querySelectorAll('#clusters tbody.gbody')).map((b) => [b.getAttribute('data-group'), b.hidden]));
    check(gh.every(([g, h]) => h === (g !== want)), 'only that group\'s header shown (' + JSON.stringify(gh) + ')');
    const shot2 = path.join(out, 'filter-group.png');
    await page.screenshot({ path: shot2, fullPage: true });
    shots.push(shot2);
    await axe(page, 'dashboard filtered by group');
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction((n) => document.querySelectorAll('#clusters tr.crow').length === n,
      total, { timeout: 20000 });
    check(await page.inputValue('#gfilter') === want, 'a reload keeps the group chosen');
    rows = await rowsNow(page);
    check(rows.filter((r) => r.shown).length === inG.length, 'and applies it');
    steps.push('group');

    check(!problems.pageErrors.length, 'no page errors (' + problems.pageErrors.join('; ') + ')');
  } catch (e) {
    failures.push('exception: ' + (e && e.stack ? e.stack : e));
  } finally {
    await browser.close();
  }
  send({ result: { ok: !failures.length, failures, steps, screenshots: shots } });
  stopInput();
}

main();
