/* dashboard.mjs — the dashboard tried in headless Chromium the way a person
 * would during an incident; run by tests/it_browser.py, which starts the
 * topology and hapanel, and does on request what a browser cannot (kill a
 * redis-server, start it again).
 *
 * Environment: HAPANEL_URL (http://127.0.0.1:PORT), HAPANEL_TOKEN (an
 * operator token), HAPANEL_CLUSTER (mymaster), HAPANEL_TOPO (JSON: master,
 * replicas, sentinels: the addresses Python started), HAPANEL_BROWSER_OUT
 * (where the screenshots go).
 *
 * Steps, each with its time limit asserted:
 *  1. the dashboard (token in the URL fragment) draws all six processes:
 *     <svg class="topo"> with one g.tnode per process (1 master, 2
 *     replicas, 3 Sentinels at their addresses), all st-ok;
 *  2. with the pointer resting on the failover button and the keyboard
 *     focus on it, Python SIGKILLs a replica: its node is drawn st-down
 *     within 2 s, without a reload, and the focus is still on that button;
 *     Python starts it again and it is drawn st-ok;
 *  3. a graceful switchover to the other replica through the cluster's
 *     failover button and the dialog (#actdlg, mode graceful, #actgo): the
 *     new master is drawn within 1 s of the job's "promoted to master" step
 *     (GET /api/v1/jobs/{id}); a desktop screenshot;
 *  3a. a failover drill (hapanel runs with [drill] enabled = 1, allow_kill
 *     off, key_prefix HAPANEL_DRILL_PREFIX): the card's "run failover
 *     drill…" (button[data-act="drill"]) opens the dialog, which says what
 *     will happen (SET <prefix>..., a graceful switchover of the master, the
 *     keys deleted, the figures measured, a real failover), offers
 *     kill-master disabled saying allow_kill is off, and asks no typed
 *     confirmation for graceful; graceful is confirmed (POST .../drills ->
 *     202); the job panel shows it running with steps coming, then
 *     succeeded; within 30 s of the click the card draws the drill: an
 *     svg.drilltl role=img named with the write gap, its markers listed as
 *     text, the figures (write gap as the report's write_gap_ms, acked
 *     writes lost 0, the durations, old -> new master) as in GET
 *     /api/v1/drills/{id}; the drawing settles on the new master with all
 *     six ok, which the Sentinels name (asked of Python, which also finds no
 *     key left under the prefix); axe-core on the dialog and on the page
 *     with the drill drawn: no violation at all; screenshots. From here the
 *     master is the drill's: no later step assumes which node it is;
 *  3b. a restore check: Python writes 1,000 keys of every kind on the
 *     master (copied to both replicas), the card's "back up now…" takes a
 *     backup (its row gives the master's key figures), "verify restore…" on
 *     its row is confirmed, and within 20 s the row says "restorable,
 *     checked <time>" (the job succeeded); a screenshot of the row;
 *  4. the cluster's charts (button.open-charts): an svg.chart with a
 *     polyline;
 *  5. at 390 x 844: no horizontal scroll (scrollWidth <= 390), and the
 *     failover dialog's confirm button lies inside the viewport (a
 *     screenshot), the whole dialog inside the screen's width, "forget token" on screen,
 *     the role shown ("role: operator") with the action buttons, and Enter
 *     in four of the dialog's fields (reason, pause, mode, target) starts
 *     no job and leaves the dialog open and the master where it was;
 *  6. History at 390 px: no horizontal scroll; its tables refresh by
 *     themselves (within 9 s) while what is typed in the filter form and
 *     its focus stay; axe-core on it;
 *  7. a viewer (a second browser context, its token, a phone: 390 x 844,
 *     isMobile): the drawing, "role: viewer", no action button offered, no
 *     horizontal scroll; axe-core on it;
 *  8. axe-core on the page with the job panel open, with the failover
 *     dialog open, on the History view (desktop), and at 390 px (step 5):
 *     no violation of impact serious or critical (all are printed);
 *  9. the fallback: Python starts a second hapanel on the same topology
 *     with [http] max_streams = 1 and holds its one /ui/stream open; a page
 *     on it gets 503 on /ui/stream, polls, and draws a replica Python kills
 *     st-down within 2 s.
 * Also: no uncaught page error and no Content-Security-Policy violation.
 *
 * HAPANEL_VIEWER_TOKEN: the viewer's token (step 7; skipped without).
 * HAPANEL_DRILL_PREFIX: hapanel's [drill] key_prefix (step 3a).
 *
 * The last stdout line is {"result": {ok, failures, figures, screenshots,
 * axe, ...}}; the exit status is 0 when ok. */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  say, send, ask, stopInput, launch, openDashboard, waitTopo, topoNow, logLength,
  masterOf, fmtNodes
} from './lib.mjs';

const BASE = process.env.HAPANEL_URL;
const TOKEN = process.env.HAPANEL_TOKEN;
const VIEWER_TOKEN = process.env.HAPANEL_VIEWER_TOKEN || '';
const CLUSTER = process.env.HAPANEL_CLUSTER || 'mymaster';
const TOPO = JSON.parse(process.env.HAPANEL_TOPO || '{}');
const OUT = process.env.HAPANEL_BROWSER_OUT || '.';
const KILL_LIMIT_MS = 2000;
const HISTORY_REFRESH_MS = 9000;
const DRAW_LIMIT_MS = 1000;
const DRILL_LIMIT_MS = 30000;
const RESTORE_LIMIT_MS = 20000;
const DRILL_PREFIX = process.env.HAPANEL_DRILL_PREFIX || 'hapanel:drill:';
const PHONE = { width: 390, height: 844 };

const failures = [];
const figures = {};
const screenshots = [];
const result = { ok: false, failures, figures, screenshots };

function check(cond, text) {
  if (!cond) {
    failures.push(text);
    say('FAIL: ' + text);
  }
  return !!cond;
}

async function api(p) {
  const r = await fetch(BASE + p, { headers: { Authorization: 'Bearer ' + TOKEN } });
  const t = await r.text();
  if (r.status !== 200) throw new Error('GET ' + p + ' -> ' + r.status + ' ' + t.slice(0, 300));
  return JSON.parse(t);
}

async function shot(page, name, fullPage, keepScroll) {
  const file = path.join(OUT, name);
  /* from the top (a full-page capture of a scrolled page draws the sticky
     header mid-page), with no focus ring left by the last click */
  if (!keepScroll) {
    await page.evaluate(() => {
      window.scrollTo(0, 0);
      if (document.activeElement && document.activeElement !== document.body && !document.querySelector('dialog[open]')) document.activeElement.blur();
    });
  }
  await page.screenshot({ path: file, fullPage: !!fullPage });
  screenshots.push(file);
  say('screenshot ' + file);
  return file;
}

/* A screenshot of what sel matches: its box taken in one evaluate and cut
 * out of a full-page capture (the card is swapped whole by every update, so
 * an element handle would go stale under an element screenshot). */
async function shotOf(page, sel, name) {
  const box = await page.evaluate((s) => {
    const el = document.querySelector(s);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return { x: Math.max(0, r.left + window.scrollX - 4), y: Math.max(0, r.top + window.scrollY - 4),
             width: Math.ceil(r.width + 8), height: Math.ceil(r.height + 8) };
  }, sel);
  if (!check(box && box.width > 8 && box.height > 8, 'nothing to take a screenshot of: ' + sel)) return null;
  const file = path.join(OUT, name);
  await page.screenshot({ path: file, fullPage: true, clip: box });
  screenshots.push(file);
  say('screenshot ' + file);
  return file;
}

function clusterSel() {
  return 'section.cluster[data-cluster="' + CLUSTER.replace(/["\\]/g, '\\$&') + '"]';
}

/* The six processes as started, all ok, one master. */
function allSix(master) {
  const want = new Map();
  want.set(master, 'master');
  for (const a of [TOPO.master].concat(TOPO.replicas)) if (a !== master) want.set(a, 'replica');
  for (const a of TOPO.sentinels) want.set(a, 'sentinel');
  return (nodes) => nodes.length === 6 && nodes.every((n) => want.get(n[0]) === n[1] && n[2] === 'ok') &&
    new Set(nodes.map((n) => n[0])).size === 6;
}

/* Step 1 */
async function stepDrawn(page) {
  const e = await waitTopo(page, allSix(TOPO.master), 15000);
  const now = await topoNow(page);
  if (!check(e, 'the drawing does not show the six processes (1 master ' + TOPO.master +
             ', replicas ' + TOPO.replicas.join(' ') + ', Sentinels ' + TOPO.sentinels.join(' ') +
             ', all st-ok) within 15 s; it shows: ' + (now.length ? fmtNodes(now) : 'no svg.topo g.tnode at all'))) {
    return false;
  }
  say('drawn: ' + fmtNodes(e.nodes));
  const counts = await page.evaluate(() => ({
    svgs: document.querySelectorAll('svg.topo').length,
    master: document.querySelectorAll('svg.topo g.tnode[data-role="master"]').length,
    replica: document.querySelectorAll('svg.topo g.tnode[data-role="replica"]').length,
    sentinel: document.querySelectorAll('svg.topo g.tnode[data-role="sentinel"]').length
  }));
  check(counts.svgs === 1 && counts.master === 1 && counts.replica === 2 && counts.sentinel === 3,
        'want one svg.topo with 1 master, 2 replica and 3 sentinel tnodes: ' + JSON.stringify(counts));
  return true;
}

/* Step 2 */
async function stepKill(page) {
  const victim = TOPO.replicas[0];
  /* the pointer rests on the failover button and it has keyboard focus: the
     view must go on updating, and the focus stay on that button */
  const btn = clusterSel() + ' button.act[data-act="failover"]';
  await page.hover(btn);
  await page.focus(btn);
  const from = await logLength(page);
  const k = await ask('kill', { addr: victim });
  const e = await waitTopo(page, (nodes) => nodes.some((n) => n[0] === victim && n[2] === 'down'), 10000, from);
  const now = await topoNow(page);
  if (!check(e, 'killed replica ' + victim + ' not drawn st-down within 10 s (shows: ' + fmtNodes(now) + ')')) return false;
  const ms = Math.round(e.t - k.t);
  figures.kill_to_red_ms = ms;
  say('replica ' + victim + ' killed; drawn st-down ' + ms + ' ms later: ' + fmtNodes(e.nodes));
  check(ms <= KILL_LIMIT_MS, 'killed replica ' + victim + ' drawn st-down after ' + ms + ' ms (limit ' + KILL_LIMIT_MS + ' ms)');
  const focused = await page.evaluate(() => {
    const a = document.activeElement;
    return a && a.closest('#clusters') ? a.getAttribute('data-act') + ' ' + (a.matches(':hover') ? 'hovered' : '') : 'lost: ' + (a && a.tagName);
  });
  say('with the pointer and the focus on the failover button, the view updated; focus now: ' + focused);
  check(focused === 'failover hovered', 'the focus (and the pointer) left the failover button across the updates: ' + focused);
  await page.mouse.move(0, 0);
  await shot(page, 'desktop-replica-down.png', false);
  const from2 = await logLength(page);
  await ask('restart', { addr: victim }, 90000);
  const back = await waitTopo(page, allSix(TOPO.master), 20000, from2);
  check(back, 'replica ' + victim + ' started again but the drawing does not show all six st-ok within 20 s (shows: ' +
        fmtNodes(await topoNow(page)) + ')');
  return true;
}

/* Step 3 */
async function stepSwitchover(page) {
  const target = TOPO.replicas[1];
  const btn = page.locator(clusterSel() + ' button[data-act="failover"]');
  if (!check(await btn.count() === 1, 'no failover button (' + clusterSel() + ' button[data-act="failover"])')) return false;
  await btn.click();
  const dlg = page.locator('#actdlg');
  await dlg.waitFor({ state: 'visible', timeout: 5000 });
  await page.selectOption('#actmode', 'graceful');
  const opts = await page.$$eval('#acttarget option', (os) => os.map((o) => o.value));
  if (!check(opts.includes(target), 'the dialog does not offer ' + target + ' as a target (offers ' + JSON.stringify(opts) + ')')) return false;
  await page.selectOption('#acttarget', target);
  /* the dry run (plan) loaded and does not block */
  await page.locator('#actplan').waitFor({ state: 'visible', timeout: 10000 });
  const go = page.locator('#actgo');
  await page.waitForFunction(() => !document.getElementById('actgo').disabled, null, { timeout: 10000 });
  const plan = await page.locator('#actplan').innerText();
  say('dialog: ' + (await go.innerText()) + ' | ' + plan.replace(/\s+/g, ' ').slice(0, 300));
  const from = await logLength(page);
  const resp = page.waitForResponse((r) => r.request().method() === 'POST' &&
                                     /\/api\/v1\/clusters\/[^/]+\/failover$/.test(new URL(r.url()).pathname), { timeout: 15000 });
  await go.click();
  const r = await resp;
  const body = await r.json().catch(() => null);
  if (!check(r.status() === 202 && body && body.job_id, 'POST failover from the dialog -> ' + r.status() + ' ' + JSON.stringify(body))) return false;
  const id = body.job_id;
  say('job ' + id + ' accepted');
  let jb = null;
  const end = Date.now() + 60000;
  while (Date.now() < end) {
    jb = await api('/api/v1/jobs/' + id);
    if (jb.state === 'succeeded' || jb.state === 'failed') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const steps = (jb.steps || []).map((s) => s.ts + ' ' + s.message).join('\n  ');
  if (!check(jb.state === 'succeeded', 'switchover job ' + id + ' ended ' + jb.state + ': ' + jb.error + '\n  ' + steps)) return false;
  const promo = (jb.steps || []).find((s) => / promoted to master/.test(s.message));
  if (!check(promo && typeof promo.ts === 'number', 'job ' + id + ' has no "promoted to master" step:\n  ' + steps)) return false;
  const e = await waitTopo(page, (nodes) => masterOf(nodes) === target, 10000, from);
  if (!check(e, 'new master ' + target + ' not drawn within 10 s of the job (shows ' + fmtNodes(await topoNow(page)) + ')')) return false;
  const ms = Math.round(e.t - promo.ts);
  figures.promotion_to_drawn_ms = ms;
  say('promotion step at ' + promo.ts + ' ("' + promo.message + '"); new master drawn at ' + e.t + ': ' + ms + ' ms');
  /* for the report: when hapanel recorded the Sentinels' switch */
  let sw = null;
  try {
    const evs = (await api('/api/v1/events?limit=200')).events || [];
    for (const ev of evs) {
      if ((ev.type === '+switch-master' || ev.type === 'master-changed') && ev.ts >= jb.steps[0].ts &&
          (sw === null || ev.ts < sw.ts)) sw = ev;
    }
  } catch (err) { say('events: ' + err); }
  if (sw) {
    figures.switch_event_to_drawn_ms = Math.round(e.t - sw.ts);
    figures.promotion_to_switch_event_ms = Math.round(sw.ts - promo.ts);
    say('hapanel recorded ' + sw.type + ' at ' + sw.ts + ' (' + figures.promotion_to_switch_event_ms +
        ' ms after the promotion step); drawn ' + figures.switch_event_to_drawn_ms + ' ms after it');
  }
  check(ms <= DRAW_LIMIT_MS, 'new master ' + target + ' drawn ' + ms + ' ms after the job\'s promotion step (limit ' +
        DRAW_LIMIT_MS + ' ms)' + (sw ? '; hapanel recorded ' + sw.type + ' ' + figures.promotion_to_switch_event_ms +
        ' ms after the promotion step and the page drew it ' + figures.switch_event_to_drawn_ms + ' ms after that' : ''));
  /* the picture to keep: the new topology settled */
  const settled = await waitTopo(page, allSix(target), 20000, e.index);
  check(settled, 'after the switchover the drawing does not settle on master ' + target + ' with all six st-ok (shows ' +
        fmtNodes(await topoNow(page)) + ')');
  await page.mouse.move(0, 0);
  await page.waitForTimeout(1200);
  await shot(page, 'desktop-job.png', true);
  /* the job panel is an overlay (at 390 px it covers the cluster card):
     closed, as a person would once the job is done */
  await page.locator('#jobclose').click();
  await page.waitForTimeout(300);
  await shot(page, 'desktop.png', true);
  await shot(page, 'desktop-top.png', false); /* the README's (docs/screenshot.png) */
  return true;
}

/* The figures of a drill's <dl class="drillfigs"> as {label: text}, the
 * drill's element found by its job (button.joblink[data-job]) in the card. */
async function drillShown(page, jobId) {
  return page.evaluate(([sel, id]) => {
    const card = document.querySelector(sel);
    if (!card) return null;
    let el = null;
    for (const d of card.querySelectorAll('.drills .drill')) {
      if (d.querySelector('button.joblink[data-job="' + id + '"]')) { el = d; break; }
    }
    if (!el) return null;
    const figs = {};
    for (const div of el.querySelectorAll('dl.drillfigs > div')) {
      const dt = div.querySelector('dt'), dd = div.querySelector('dd');
      if (dt && dd) figs[dt.textContent.trim()] = dd.textContent.trim();
    }
    const svg = el.querySelector('svg.drilltl');
    const r = svg ? svg.getBoundingClientRect() : null;
    return {
      drill: el.getAttribute('data-drill'), state: el.getAttribute('data-state'), figs: figs,
      svg: svg ? { role: svg.getAttribute('role'), label: svg.getAttribute('aria-label') || '',
                   title: (svg.querySelector('title') || {}).textContent || '', width: r.width, height: r.height,
                   marks: svg.querySelectorAll('g.mk').length, gap: svg.querySelectorAll('rect.gap').length } : null,
      marks: Array.from(el.querySelectorAll('ol.drillmarks li')).map((li) => li.textContent.replace(/\s+/g, ' ').trim()),
      error: (el.querySelector('.drillerr') || {}).textContent || ''
    };
  }, [clusterSel(), String(jobId)]);
}

/* ui_common.c's ui__put_duration, for comparing the card with the report */
function fmtDuration(ms) {
  if (ms < 1000) return ms + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  return null; /* a drill's gap is never that long here */
}

/* What the job panel (#jobbody .jobview) shows now. */
async function jobPanelNow(page) {
  return page.evaluate(() => {
    const v = document.querySelector('#jobpanel:not([hidden]) #jobbody .jobview');
    if (!v) return null;
    return { job: v.getAttribute('data-job'), state: v.getAttribute('data-state'),
             steps: v.querySelectorAll('ol.steps li:not(.pending)').length,
             pending: !!v.querySelector('ol.steps li.pending'),
             last: ((v.querySelector('ol.steps li:not(.pending):last-of-type .m') || {}).textContent || '').slice(0, 120) };
  });
}

/* Step: a failover drill from the cluster card (hapanel runs with [drill]
 * enabled = 1, allow_kill off). The dialog says what will happen and offers
 * kill-master disabled with its reason; graceful is confirmed; the job
 * panel shows the steps coming; within DRILL_LIMIT_MS of the click the card
 * draws the drill: a timeline svg (role=img) and its figures as text, the
 * same as the report's (GET /api/v1/drills/{id}); no acknowledged write
 * lost; axe on the page with it (any violation fails); the probe keys gone
 * from the new master (asked of the Python side). The master moves: the
 * step ends once all six are drawn ok around the new one, and the later
 * steps take the master from the drawing or from the Sentinels. */
async function stepDrill(page) {
  const btn = page.locator(clusterSel() + ' button[data-act="drill"]');
  if (!check(await btn.count() === 1, 'no drill button (' + clusterSel() + ' button[data-act="drill"])')) return false;
  /* enabled once no job runs on the cluster (the switchover's may still be ending) */
  const enabled = await page.waitForFunction((s) => {
    const b = document.querySelector(s);
    return b && !b.disabled;
  }, clusterSel() + ' button[data-act="drill"]', { timeout: 10000 }).then(() => true, () => false);
  if (!check(enabled, 'the drill button stays disabled with [drill] enabled = 1: title ' +
             JSON.stringify(await btn.getAttribute('title')))) return false;
  const oldMaster = masterOf(await topoNow(page));
  check(await btn.innerText() === 'run failover drill\u2026', 'the drill button reads ' + JSON.stringify(await btn.innerText()));
  await btn.click();
  await page.locator('#actdlg').waitFor({ state: 'visible', timeout: 5000 });
  const title = await page.locator('#acttitle').innerText();
  check(title === 'Failover drill on ' + CLUSTER, 'the drill dialog\'s title: ' + JSON.stringify(title));
  check(await page.locator('#f-drill').isVisible() && !(await page.locator('#f-failover').isVisible()),
        'the drill dialog does not show its own fields (#f-drill) alone');
  /* kill-master offered, disabled, saying why */
  const kill = await page.$eval('#drillmode option[value="kill-master"]', (o) => ({ disabled: o.disabled, text: o.textContent }));
  say('drill dialog: kill-master option ' + JSON.stringify(kill));
  check(kill.disabled, 'with allow_kill off the dialog offers kill-master enabled: ' + JSON.stringify(kill));
  check(/allow_kill/.test(kill.text) && /\boff\b/.test(kill.text),
        'the disabled kill-master option does not say why (allow_kill): ' + JSON.stringify(kill.text));
  /* force says something else, graceful what we run */
  await page.selectOption('#drillmode', 'force');
  const forceText = await page.locator('#actwhat').innerText();
  check(/forced failover/.test(forceText), 'the dialog in force mode does not say "forced failover": ' + forceText);
  await page.selectOption('#drillmode', 'graceful');
  const what = await page.locator('#actwhat').innerText();
  say('drill dialog says: ' + what);
  check(what.indexOf('SET ' + DRILL_PREFIX) >= 0, 'the drill dialog does not name the probe keys under the prefix ' +
        DRILL_PREFIX + ': ' + what);
  check(/graceful switchover/.test(what) && (oldMaster === null || what.indexOf(oldMaster) >= 0),
        'the drill dialog does not say it switches over ' + oldMaster + ' gracefully: ' + what);
  check(/deletes the probe keys/.test(what) && /write gap/.test(what) && /real failover/.test(what),
        'the drill dialog does not say the keys are deleted, what is measured and that the failover is real: ' + what);
  check(!(await page.locator('#drillconfirmlabel').isVisible()), 'graceful asks for the cluster name to be typed');
  const go = page.locator('#actgo');
  check(await go.innerText() === 'Run drill' && !(await go.isDisabled()),
        'the drill\'s confirm button: ' + JSON.stringify(await go.innerText()) + (await go.isDisabled() ? ' (disabled)' : ''));
  await shot(page, 'desktop-drill-dialog.png', false, true);
  result.axeDrillDialog = await runAxe(page, 'drill dialog', true);
  const from = await logLength(page);
  const resp = page.waitForResponse((r) => r.request().method() === 'POST' &&
                                     /\/api\/v1\/clusters\/[^/]+\/drills$/.test(new URL(r.url()).pathname), { timeout: 15000 });
  const t0 = Date.now();
  await go.click();
  const r = await resp;
  const body = await r.json().catch(() => null);
  if (!check(r.status() === 202 && body && body.job_id, 'POST drills from the dialog -> ' + r.status() + ' ' + JSON.stringify(body))) return false;
  const id = body.job_id;
  say('drill job ' + id + ' accepted');
  /* the job panel while it runs, and the card until it draws the drill */
  const seen = [];
  let shown = null, panel = null;
  const end = t0 + DRILL_LIMIT_MS;
  while (Date.now() < end) {
    panel = await jobPanelNow(page);
    if (panel && panel.job === String(id)) {
      const k = panel.state + ' ' + panel.steps;
      if (!seen.length || seen[seen.length - 1].k !== k) {
        seen.push({ k, t: Date.now() - t0, state: panel.state, steps: panel.steps, pending: panel.pending, last: panel.last });
      }
    }
    shown = await drillShown(page, id);
    if (shown && shown.state !== 'running' && shown.svg && panel && panel.state !== 'running' && panel.state !== 'queued') break;
    await page.waitForTimeout(100);
  }
  const drawnMs = Date.now() - t0;
  say('job panel: ' + seen.map((s) => '+' + s.t + ' ms ' + s.state + ' ' + s.steps + ' steps' + (s.pending ? ' (working)' : '') +
                                   (s.last ? ' "' + s.last + '"' : '')).join(' | '));
  const running = seen.filter((s) => s.state === 'running' && s.pending);
  figures.drill_panel_states = seen.length;
  check(running.length >= 2 && running[running.length - 1].steps > running[0].steps,
        'the job panel did not show the drill\'s progress (running, with steps coming): ' + JSON.stringify(seen.map((s) => s.k)));
  check(panel && panel.job === String(id) && panel.state === 'succeeded',
        'the job panel ends the drill job ' + id + ' in ' + JSON.stringify(panel));
  const jb = await api('/api/v1/jobs/' + id);
  const steps = (jb.steps || []).map((s) => s.ts + ' ' + s.message).join('\n  ');
  if (!check(jb.state === 'succeeded', 'drill job ' + id + ' ended ' + jb.state + ': ' + jb.error + '\n  ' + steps)) return false;
  if (!check(shown && shown.svg, 'within ' + DRILL_LIMIT_MS + ' ms of the click the card does not draw drill job ' + id +
             '\'s timeline (svg.drilltl): ' + JSON.stringify(shown))) return false;
  figures.drill_click_to_drawn_ms = drawnMs;
  say('drill #' + shown.drill + ' drawn ' + drawnMs + ' ms after the click: ' + JSON.stringify(shown));
  check(shown.state === 'succeeded' && !shown.error, 'the card shows drill #' + shown.drill + ' as ' + shown.state + ' ' + shown.error);
  const dr = await api('/api/v1/drills/' + shown.drill);
  const rep = dr.report || {};
  figures.drill = { write_gap_ms: rep.write_gap_ms, acked_lost: rep.acked_lost, writes_acked: rep.writes_acked,
                    detection_ms: rep.detection_ms, promotion_ms: rep.promotion_ms, agreement_ms: rep.agreement_ms,
                    old_master: rep.old_master, new_master: rep.new_master, probe_keys_deleted: rep.probe_keys_deleted };
  say('drill report: ' + JSON.stringify(figures.drill));
  check(dr.job_id === id && dr.mode === 'graceful' && dr.state === 'ok', 'GET /api/v1/drills/' + shown.drill + ': ' +
        JSON.stringify({ job_id: dr.job_id, mode: dr.mode, state: dr.state }));
  /* the drawing: an image with a name that carries the gap */
  const gapText = typeof rep.write_gap_ms === 'number' ? fmtDuration(rep.write_gap_ms) : null;
  check(shown.svg.role === 'img' && /^Timeline of drill #\d+ \(graceful\)/.test(shown.svg.label) &&
        shown.svg.title === shown.svg.label, 'the timeline svg is not an image named by its figures: ' + JSON.stringify(shown.svg));
  check(gapText && shown.svg.label.indexOf('write gap ' + gapText) >= 0,
        'the timeline\'s name does not give the write gap ' + gapText + ': ' + JSON.stringify(shown.svg.label));
  check(shown.svg.width >= 200 && shown.svg.height >= 20 && shown.svg.marks >= 5 && shown.svg.gap === 1,
        'the timeline svg is not drawn with its markers and the gap band: ' + JSON.stringify(shown.svg));
  check(shown.marks.length === shown.svg.marks && shown.marks.every((m) => /^\d+ ms \S/.test(m)),
        'the markers are not listed as text beside the drawing: ' + JSON.stringify(shown.marks));
  /* the figures as text, as the report says */
  check(gapText && shown.figs['write gap'] === gapText, 'the card\'s write gap ' + JSON.stringify(shown.figs['write gap']) +
        ', the report\'s ' + rep.write_gap_ms + ' ms');
  check(shown.figs['acked writes lost'] === '0' && rep.acked_lost === 0,
        'acked writes lost: the card says ' + JSON.stringify(shown.figs['acked writes lost']) + ', the report ' + rep.acked_lost + ' (want 0)');
  for (const k of ['detection', 'promotion', 'all Sentinels agree']) {
    check(/^\d+(\.\d)? (ms|s)$/.test(shown.figs[k] || ''), 'the card\'s "' + k + '" is not a duration: ' + JSON.stringify(shown.figs[k]));
  }
  check(rep.old_master === oldMaster && rep.new_master && rep.new_master !== oldMaster,
        'the drill went from ' + rep.old_master + ' to ' + rep.new_master + ' (the drawing\'s master before: ' + oldMaster + ')');
  check((shown.figs.master || '').indexOf(oldMaster) >= 0 && (shown.figs.master || '').indexOf(rep.new_master) >= 0,
        'the card\'s master figure: ' + JSON.stringify(shown.figs.master));
  /* the topology whole again around the new master */
  const settled = await waitTopo(page, allSix(rep.new_master), 20000, from);
  check(settled, 'after the drill the drawing does not settle on master ' + rep.new_master + ' with all six st-ok (shows ' +
        fmtNodes(await topoNow(page)) + ')');
  const py = await ask('probe_keys', { prefix: DRILL_PREFIX }, 30000);
  say('the Sentinels name ' + py.master + ' master; keys under ' + DRILL_PREFIX + ' on it: ' + py.keys);
  check(py.master === rep.new_master, 'the Sentinels name ' + py.master + ', the drill says ' + rep.new_master);
  check(py.keys === 0, py.keys + ' probe keys (' + DRILL_PREFIX + '*) left on ' + py.master + ' after the drill');
  /* what a person sees: the panel closed, the drill in the card */
  if (await page.locator('#jobpanel').isVisible()) await page.locator('#jobclose').click();
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await shotOf(page, clusterSel() + ' .drills .drill[data-drill="' + shown.drill + '"]', 'desktop-drill.png');
  await shot(page, 'desktop-drill-page.png', true);
  result.axeDrill = await runAxe(page, 'dashboard with the drill drawn', true);
  return true;
}

/* Step: a backup taken with the card's button, then "verify restore…" on
 * its row: within RESTORE_LIMIT_MS of the confirmation the row says
 * "restorable, checked <date>". */
async function stepRestore(page) {
  const bsel = clusterSel() + ' button[data-act="backup"]';
  const enabled = await page.waitForFunction((s) => {
    const b = document.querySelector(s);
    return b && !b.disabled;
  }, bsel, { timeout: 10000 }).then(() => true, () => false);
  if (!check(enabled, 'no enabled backup button (' + bsel + ')')) return false;
  /* something to restore: keys of every kind, on both replicas */
  const data = await ask('fill', { n: 1000 }, 30000);
  const before = new Set(await page.$$eval(clusterSel() + ' tr.backup[data-backup]', (rs) => rs.map((r) => r.getAttribute('data-backup'))));
  await page.locator(bsel).click();
  await page.locator('#actdlg').waitFor({ state: 'visible', timeout: 5000 });
  const bwhat = await page.locator('#actwhat').innerText();
  check(/RDB snapshot/.test(bwhat), 'the backup dialog does not say what it does: ' + bwhat);
  const bresp = page.waitForResponse((r) => r.request().method() === 'POST' &&
                                      /\/api\/v1\/clusters\/[^/]+\/backups$/.test(new URL(r.url()).pathname), { timeout: 15000 });
  await page.locator('#actgo').click();
  const br = await bresp;
  const bbody = await br.json().catch(() => null);
  if (!check(br.status() === 202 && bbody && bbody.job_id, 'POST backups from the dialog -> ' + br.status() + ' ' + JSON.stringify(bbody))) return false;
  let bj = null;
  const bend = Date.now() + 30000;
  while (Date.now() < bend) {
    bj = await api('/api/v1/jobs/' + bbody.job_id);
    if (bj.state === 'succeeded' || bj.state === 'failed') break;
    await page.waitForTimeout(100);
  }
  if (!check(bj.state === 'succeeded' && bj.result && bj.result.backup_id, 'backup job ' + bbody.job_id + ' ended ' + bj.state +
             ': ' + bj.error + ' ' + JSON.stringify(bj.result))) return false;
  const bid = String(bj.result.backup_id);
  check(!before.has(bid), 'backup #' + bid + ' was listed before it was taken');
  say('backup #' + bid + ' taken by job ' + bbody.job_id);
  if (await page.locator('#jobpanel').isVisible()) await page.locator('#jobclose').click();
  const row = clusterSel() + ' tr.backup[data-backup="' + bid + '"]';
  const vbtn = page.locator(row + ' button[data-act="verify-restore"]');
  const listed = await vbtn.waitFor({ state: 'visible', timeout: 10000 }).then(() => true, () => false);
  if (!check(listed, 'backup #' + bid + '\'s row (' + row + ') with a verify restore button is not shown within 10 s')) return false;
  check(await vbtn.innerText() === 'verify restore\u2026', 'the restore button reads ' + JSON.stringify(await vbtn.innerText()));
  check(!/restorable/.test(await page.locator(row).innerText()), 'backup #' + bid + ' is "restorable" before any check');
  /* the row's key figures are the master's at that quiet moment */
  const keysText = (await page.locator(row + ' .bk-keys').innerText().catch(() => '')).trim();
  check(keysText === data.keys + ' keys, ' + data.expires + ' with a TTL',
        'backup #' + bid + '\'s row says ' + JSON.stringify(keysText) + '; the master held ' + data.keys + ' keys, ' +
        data.expires + ' with a TTL');
  await vbtn.click();
  await page.locator('#actdlg').waitFor({ state: 'visible', timeout: 5000 });
  const title = await page.locator('#acttitle').innerText();
  const what = await page.locator('#actwhat').innerText();
  say('restore dialog: ' + title + ' | ' + what);
  check(title === 'Verify that backup #' + bid + ' of ' + CLUSTER + ' restores', 'the restore dialog\'s title: ' + title);
  check(/scratch redis-server/.test(what) && /No node of the cluster is touched/.test(what),
        'the restore dialog does not say what will happen: ' + what);
  const resp = page.waitForResponse((r) => r.request().method() === 'POST' &&
                                     new URL(r.url()).pathname === '/api/v1/backups/' + bid + '/verify-restore', { timeout: 15000 });
  const t0 = Date.now();
  await page.locator('#actgo').click();
  const r = await resp;
  const body = await r.json().catch(() => null);
  if (!check(r.status() === 202 && body && body.job_id, 'POST verify-restore from the dialog -> ' + r.status() + ' ' +
             JSON.stringify(body))) return false;
  const ok = page.locator(row + ' .bk-restore');
  let text = '';
  while (Date.now() - t0 < RESTORE_LIMIT_MS) {
    text = (await ok.count()) ? (await ok.first().innerText()).trim() : '';
    if (text) break;
    await page.waitForTimeout(100);
  }
  const ms = Date.now() - t0;
  const jb = await api('/api/v1/jobs/' + body.job_id);
  say('restore check: job ' + body.job_id + ' ' + jb.state + '; the row says ' + JSON.stringify(text) + ' ' + ms + ' ms after the click');
  check(jb.state === 'succeeded', 'the restore job ' + body.job_id + ' is ' + jb.state + ': ' + jb.error + '\n  ' +
        (jb.steps || []).map((s) => s.message).join('\n  '));
  if (!check(/^restorable, checked \S/.test(text), 'within ' + RESTORE_LIMIT_MS + ' ms of the confirmation backup #' + bid +
             '\'s row does not say "restorable, checked <date>": ' + JSON.stringify(text))) return false;
  figures.restore_click_to_shown_ms = ms;
  check(await page.locator(row + ' .bk-restore.ok').count() === 1, 'the restorable mark is not .ok');
  if (await page.locator('#jobpanel').isVisible()) await page.locator('#jobclose').click();
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await shotOf(page, row, 'desktop-restore.png');
  return true;
}

/* Step 4 */
async function stepCharts(page) {
  const btn = page.locator(clusterSel() + ' button.open-charts');
  if (!check(await btn.count() >= 1, 'no charts control (' + clusterSel() + ' button.open-charts)')) return false;
  await btn.first().click();
  try {
    await page.waitForFunction(() => Array.from(document.querySelectorAll('svg.chart'))
      .some((s) => s.querySelector('polyline')), null, { timeout: 10000 });
  } catch (e) {
    const n = await page.evaluate(() => document.querySelectorAll('svg.chart').length);
    check(false, 'after clicking button.open-charts: no svg.chart with a polyline within 10 s (' + n + ' svg.chart)');
    return false;
  }
  const n = await page.evaluate(() => ({
    charts: document.querySelectorAll('svg.chart').length,
    lines: document.querySelectorAll('svg.chart polyline').length
  }));
  figures.charts = n;
  say('charts: ' + JSON.stringify(n));
  await shot(page, 'desktop-charts.png', true);
  return true;
}

/* What sticks out past the right edge at this width: the outermost such
 * elements, as selectors, for the report. */
async function overflowers(page, width) {
  return page.evaluate((w) => {
    function sel(el) {
      let s = el.tagName.toLowerCase();
      if (el.id) return s + '#' + el.id;
      if (el.classList.length) s += '.' + Array.from(el.classList).join('.');
      const p = el.parentElement;
      return p && p !== document.body && p !== document.documentElement ? sel(p) + ' > ' + s : s;
    }
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= w + 0.5) continue;
      let p = el.parentElement, inner = false;
      while (p && p !== document.body) {
        const cs = getComputedStyle(p);
        if (/(auto|scroll|hidden|clip)/.test(cs.overflowX)) { inner = true; break; }
        if (p.getBoundingClientRect().right > w + 0.5) { inner = true; break; }
        p = p.parentElement;
      }
      if (!inner) out.push(sel(el) + ' right=' + Math.round(r.right));
      if (out.length >= 15) break;
    }
    return out;
  }, width);
}

/* A switchover scheduled from the dialog ("run at" an hour ahead, UTC):
 * 202 with the job queued at that time, shown as scheduled in the job list,
 * then cancelled through the REST API. */
async function stepSchedule(page) {
  await openFailoverDialog(page);
  await page.selectOption('#actmode', 'graceful');
  const at = Math.floor(Date.now() / 1000) + 3600;
  const local = new Date(at * 1000).toISOString().slice(0, 19); /* the field is read as UTC */
  await page.fill('#actat', local);
  await page.waitForFunction(() => /Schedule/.test(document.getElementById('actgo').textContent), null,
                             { timeout: 5000 });
  const what = await page.locator('#actwhat').innerText();
  check(/Scheduled for .* UTC/.test(what), 'the dialog does not say when it runs: ' + what);
  const resp = page.waitForResponse((r) => r.request().method() === 'POST' &&
                                     /\/failover$/.test(new URL(r.url()).pathname), { timeout: 15000 });
  await page.waitForFunction(() => !document.getElementById('actgo').disabled, null, { timeout: 10000 });
  await page.locator('#actgo').click();
  const r = await resp;
  const body = await r.json().catch(() => null);
  if (!check(r.status() === 202 && body && body.job_id, 'scheduling from the dialog -> ' + r.status() + ' ' +
             JSON.stringify(body))) return false;
  const jb = await api('/api/v1/jobs/' + body.job_id);
  check(jb.state === 'queued' && Math.abs(jb.run_at - at * 1000) < 1000,
        'the scheduled job: ' + jb.state + ' run_at ' + jb.run_at + ' (wanted ' + at * 1000 + ')');
  say('switchover scheduled from the dialog for ' + local + ' UTC: job ' + body.job_id + ' ' + jb.state);
  const del = await fetch(BASE + '/api/v1/jobs/' + body.job_id,
                          { method: 'DELETE', headers: { Authorization: 'Bearer ' + TOKEN } });
  check(del.status === 200, 'cancelling the scheduled job -> ' + del.status);
  const after = await api('/api/v1/jobs/' + body.job_id);
  check(after.state === 'cancelled', 'the cancelled job is ' + after.state);
  if (await page.locator('#jobpanel').isVisible()) await page.locator('#jobclose').click();
  return true;
}

async function openFailoverDialog(page) {
  await page.locator(clusterSel() + ' button[data-act="failover"]').click();
  await page.locator('#actdlg').waitFor({ state: 'visible', timeout: 5000 });
  await page.locator('#actplan').waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
}

async function closeDialog(page) {
  if (await page.locator('#actdlg').isVisible()) await page.locator('#actcancel').click();
  await page.locator('#actdlg').waitFor({ state: 'hidden', timeout: 5000 });
}

/* The action buttons shown (app.css hides those the role cannot use). */
async function visibleActions(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('button.act, [data-needs]'))
    .filter((e) => getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0).length);
}

/* Enter in the open failover dialog's fields: no job, the dialog stays. */
async function enterConfirmsNothing(page) {
  const jobsBefore = ((await api('/api/v1/jobs')).jobs || []).length;
  const masterBefore = masterOf(await topoNow(page));
  const posts = [];
  const onReq = (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); };
  page.on('request', onReq);
  for (const field of ['actreason', 'actpause', 'actmode', 'acttarget']) {
    await page.focus('#' + field);
    if (field === 'actreason') await page.keyboard.type('enter must not confirm');
    if (field === 'actpause') await page.keyboard.type('500');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(100);
    if (!check(await page.evaluate(() => document.getElementById('actdlg').open),
               'Enter in #' + field + ' closed the failover dialog')) break;
  }
  await page.waitForTimeout(1500); /* a job would be POSTed and listed by now */
  page.off('request', onReq);
  const jobsAfter = ((await api('/api/v1/jobs')).jobs || []).length;
  const masterAfter = masterOf(await topoNow(page));
  say('Enter in the dialog\'s reason, pause, mode and target: POSTs ' + JSON.stringify(posts) + ', jobs ' +
      jobsBefore + ' -> ' + jobsAfter + ', master ' + masterBefore + ' -> ' + masterAfter);
  check(!posts.some((p) => /\/(failover|actions?|jobs)/.test(p)) && jobsAfter === jobsBefore,
        'Enter in the failover dialog started a job: POSTs ' + JSON.stringify(posts) + ', jobs ' + jobsBefore + ' -> ' + jobsAfter);
  check(masterAfter === masterBefore, 'the master changed while Enter was pressed in the dialog: ' + masterBefore + ' -> ' + masterAfter);
  check(await page.evaluate(() => document.getElementById('actdlg').open), 'the failover dialog is not open after Enter');
}

/* Step 5 */
async function stepPhone(page) {
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(1500); /* a refresh or two at this width */
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  figures.phone_scroll_width = sw;
  say('at ' + PHONE.width + ' px: scrollWidth ' + sw);
  if (!check(sw <= PHONE.width, 'at ' + PHONE.width + ' px the page is ' + sw + ' px wide (horizontal scroll); ' +
             'sticking out: ' + (await overflowers(page, PHONE.width)).join('; '))) {
    /* keep going: the dialog is a separate finding */
  }
  /* for the report: how big the drawing's text is at this width */
  figures.phone_topo_text_px = await page.evaluate(() => {
    const hs = Array.from(document.querySelectorAll('svg.topo text')).map((t) => t.getBoundingClientRect().height).filter((h) => h > 0);
    return hs.length ? Math.round(Math.min(...hs) * 10) / 10 : null;
  });
  /* "forget token" on screen, the role shown, the operator's actions offered */
  const fg = await page.evaluate(() => {
    const e = document.getElementById('forget');
    const b = e.getBoundingClientRect();
    return { left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width, hidden: e.hidden };
  });
  check(!fg.hidden && fg.width > 0 && fg.left >= 0 && fg.right <= PHONE.width && fg.top >= 0 && fg.bottom <= PHONE.height,
        'at ' + PHONE.width + ' px "forget token" (#forget) is not on screen: ' + JSON.stringify(fg));
  const who = await page.locator('#who').innerText().catch(() => '');
  check(/role: operator/.test(who), 'the role is not shown in #who for the operator: ' + JSON.stringify(who));
  const acts = await visibleActions(page);
  check(acts >= 6, 'an operator is offered ' + acts + ' visible action buttons ([data-needs]), want 6 or more');
  await shot(page, 'phone.png', true);
  await openFailoverDialog(page);
  const rect = async () => page.evaluate(() => {
    const r = document.getElementById('actgo').getBoundingClientRect();
    const d = document.getElementById('actdlg').getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom,
             dlg: { left: d.left, right: d.right, top: d.top, bottom: d.bottom } };
  });
  const r0 = await rect();
  await page.evaluate(() => document.getElementById('actgo').scrollIntoView({ block: 'nearest', inline: 'nearest' }));
  const r1 = await rect();
  const inside = (r) => r.left >= 0 && r.right <= PHONE.width && r.top >= 0 && r.bottom <= PHONE.height && r.right > r.left;
  figures.phone_confirm_rect = r1;
  figures.phone_confirm_visible_unscrolled = inside(r0);
  say('at ' + PHONE.width + ' px: #actgo ' + JSON.stringify(r0) + ' (after scrolling it into view ' + JSON.stringify(r1) + ')');
  check(inside(r1), 'at ' + PHONE.width + 'x' + PHONE.height + ' the failover dialog\'s confirm button #actgo is not inside the ' +
        'viewport even scrolled into view: ' + JSON.stringify(r1));
  check(r1.dlg.left >= 0 && r1.dlg.right <= PHONE.width,
        'at ' + PHONE.width + ' px the failover dialog is wider than the screen: ' + JSON.stringify(r1.dlg));
  await shot(page, 'phone-dialog.png', false, true);
  await enterConfirmsNothing(page);
  await closeDialog(page);
  /* the tables scroll inside their boxes at this width: scrollable regions */
  result.axePhone = await runAxe(page, PHONE.width + ' px');
  return true;
}

/* Step 6: History at 390 px (the viewport stepPhone left) */
async function stepHistory(page) {
  await page.setViewportSize(PHONE);
  await page.locator('#tab-history').click();
  await page.waitForFunction(() => !!document.getElementById('htables'), null, { timeout: 10000 });
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  figures.history_phone_scroll_width = sw;
  check(sw <= PHONE.width, 'History at ' + PHONE.width + ' px is ' + sw + ' px wide (horizontal scroll); sticking out: ' +
        (await overflowers(page, PHONE.width)).join('; '));
  await page.evaluate(() => { document.getElementById('htables').dataset.old = '1'; });
  const input = '#hfilters input[name=type]';
  await page.focus(input);
  await page.keyboard.type('sdo');
  const t0 = Date.now();
  const fresh = await page.waitForFunction(() => {
    const t = document.getElementById('htables');
    return !!t && !t.dataset.old;
  }, null, { timeout: HISTORY_REFRESH_MS }).then(() => true, () => false);
  figures.history_refresh_ms = fresh ? Date.now() - t0 : null;
  const st = await page.evaluate((sel) => {
    const i = document.querySelector(sel);
    return { value: i ? i.value : null, focus: !!i && document.activeElement === i };
  }, input);
  say('History: tables refreshed ' + (fresh ? figures.history_refresh_ms + ' ms after typing' : 'not at all') +
      '; the type field holds ' + JSON.stringify(st));
  check(fresh, 'the History tables (#htables) did not refresh by themselves within ' + HISTORY_REFRESH_MS + ' ms');
  check(st.value === 'sdo' && st.focus, 'after the History refresh the filter form lost what was typed or its focus: ' +
        JSON.stringify(st));
  await shot(page, 'phone-history.png', false, true);
  result.axeHistoryPhone = await runAxe(page, 'history at ' + PHONE.width + ' px');
  await page.locator('#tab-live').click();
  return true;
}

/* Step 7: a viewer, on a phone, in a context of its own */
async function stepViewer(browser) {
  if (!VIEWER_TOKEN) { say('no HAPANEL_VIEWER_TOKEN: the viewer step is skipped'); return true; }
  const v = await openDashboard(browser, BASE, VIEWER_TOKEN, {
    width: PHONE.width, height: PHONE.height, context: { isMobile: true, hasTouch: true }
  });
  try {
    const vp = v.page;
    vp.setDefaultTimeout(10000);
    const e = await waitTopo(vp, (nodes) => nodes.length === 6, 15000);
    if (!check(e, 'the viewer\'s page does not draw the six processes within 15 s (shows ' + fmtNodes(await topoNow(vp)) + ')')) return false;
    const role = await vp.waitForFunction(() => (document.getElementById('who').textContent || '').indexOf('role: viewer') >= 0,
                                          null, { timeout: 5000 }).then(() => true, () => false);
    check(role, 'the viewer\'s role is not shown in #who: ' + JSON.stringify(await vp.locator('#who').textContent()));
    await vp.waitForTimeout(500);
    const n = await visibleActions(vp);
    check(n === 0, 'a viewer is offered ' + n + ' action buttons (button.act, [data-needs])');
    /* a phone's layout viewport grows to the content: the screen's width it must stay */
    const w = await vp.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,
                                         view: window.innerWidth }));
    figures.viewer_phone_widths = w;
    say('viewer on a phone: ' + n + ' action buttons, widths ' + JSON.stringify(w));
    check(w.doc <= PHONE.width && w.body <= PHONE.width && w.view === PHONE.width,
          'the viewer\'s page scrolls sideways on a ' + PHONE.width + ' px phone: ' + JSON.stringify(w) + '; sticking out: ' +
          (await overflowers(vp, PHONE.width)).join('; '));
    await shot(vp, 'phone-viewer.png', true);
    result.axeViewer = await runAxe(vp, 'viewer at ' + PHONE.width + ' px');
    check(!v.problems.pageErrors.length, 'uncaught errors in the viewer\'s page: ' + v.problems.pageErrors.join('; '));
    return true;
  } finally {
    await v.ctx.close().catch(() => {});
  }
}

/* Step 9: no stream to be had (503): the page polls, and stays live */
async function stepFallback(browser) {
  const capped = await ask('capped', {}, 90000);
  const master = capped.master;
  const victim = capped.victim;
  const streams = [];
  const c = await openDashboard(browser, capped.url, TOKEN, {
    beforeGoto: async (ctx) => {
      ctx.on('response', (r) => { if (new URL(r.url()).pathname === '/ui/stream') streams.push(r.status()); });
    }
  });
  try {
    const cp = c.page;
    cp.setDefaultTimeout(10000);
    let polls = 0;
    cp.on('request', (r) => { if (new URL(r.url()).pathname === '/ui/clusters') polls++; });
    const e = await waitTopo(cp, allSix(master), 15000);
    if (!check(e, 'the page on the capped hapanel does not draw the six (master ' + master + ') within 15 s (shows ' +
               fmtNodes(await topoNow(cp)) + ')')) return false;
    const got503 = await (async () => {
      for (let i = 0; i < 50 && !streams.includes(503); i++) await cp.waitForTimeout(100);
      return streams.includes(503);
    })();
    check(got503 && !streams.includes(200), 'with max_streams = 1 taken the page\'s GET /ui/stream answers were ' +
          JSON.stringify(streams) + ' (want 503 and no 200)');
    const polls0 = polls;
    const from = await logLength(cp);
    const k = await ask('kill', { addr: victim });
    const d = await waitTopo(cp, (nodes) => nodes.some((n) => n[0] === victim && n[2] === 'down'), 10000, from);
    if (!check(d, 'polling: killed replica ' + victim + ' not drawn st-down within 10 s (shows ' + fmtNodes(await topoNow(cp)) + ')')) return false;
    const ms = Math.round(d.t - k.t);
    figures.polling_kill_to_red_ms = ms;
    say('polling (stream answers ' + JSON.stringify(streams) + '): replica ' + victim + ' drawn st-down ' + ms + ' ms after the kill; ' +
        (polls - polls0) + ' polls meanwhile');
    check(ms <= KILL_LIMIT_MS, 'polling: killed replica ' + victim + ' drawn st-down after ' + ms + ' ms (limit ' + KILL_LIMIT_MS + ' ms)');
    check(polls > polls0, 'the page did not poll GET /ui/clusters after its stream was refused');
    const held = await ask('held', {});
    check(held.open, 'the stream Python held on the capped hapanel was closed during the step, so the cap was not in force');
    await shot(cp, 'desktop-polling.png', false);
    check(!c.problems.pageErrors.length, 'uncaught errors in the polling page: ' + c.problems.pageErrors.join('; '));
    return true;
  } finally {
    await c.ctx.close().catch(() => {});
  }
}

/* Step 8 */
async function runAxe(page, label, strict) {
  const require = createRequire(import.meta.url);
  const src = fs.readFileSync(path.join(path.dirname(require.resolve('axe-core')), 'axe.min.js'), 'utf8');
  /* page.evaluate is not subject to the page's script-src 'self' */
  await page.evaluate(src);
  const v = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((x) => ({
      id: x.id, impact: x.impact, help: x.help,
      nodes: x.nodes.map((n) => {
        /* where it is, for people: the heading before it (h2/h3/h4) */
        let where = '';
        try {
          let el = document.querySelector(n.target.join(' '));
          for (let k = 0; el && k < 50 && !where; k++) {
            let p = el.previousElementSibling;
            while (p && !/^H[2-4]$/.test(p.tagName)) p = p.previousElementSibling;
            if (p) where = p.textContent.replace(/\s+/g, ' ').trim().slice(0, 60);
            el = el.parentElement;
          }
        } catch (e) { where = ''; }
        return { target: n.target.join(' '), where: where,
                 summary: (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 300) };
      })
    }));
  });
  for (const x of v) {
    say('axe [' + label + '] ' + x.impact + ' ' + x.id + ': ' + x.help);
    for (const n of x.nodes.slice(0, 10)) say('    ' + n.target + (n.where ? ' (under "' + n.where + '")' : '') + ' — ' + n.summary);
    if (x.nodes.length > 10) say('    ... and ' + (x.nodes.length - 10) + ' more');
  }
  /* strict: any violation at all fails */
  const bad = strict ? v : v.filter((x) => x.impact === 'serious' || x.impact === 'critical');
  check(!bad.length, 'axe-core [' + label + ']: ' + bad.length + (strict ? '' : ' serious/critical') + ' violation(s): ' +
        bad.map((x) => x.impact + ' ' + x.id + ' at ' + x.nodes.map((n) => n.target + (n.where ? ' (under "' + n.where + '")' : '')).slice(0, 5).join(', ')).join('; '));
  return v;
}

async function stepAxe(page) {
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.waitForTimeout(1200);
  /* with the job panel open (the switchover's job, from Recent jobs) */
  const jl = page.locator(clusterSel() + ' button.joblink').first();
  if (await jl.count()) {
    await jl.click();
    await page.locator('#jobbody .jobview, #jobbody [class*="job"]').first().waitFor({ timeout: 5000 }).catch(() => {});
    await page.waitForTimeout(500);
  } else {
    say('no button.joblink in the cluster card: axe runs without the job panel');
  }
  result.axe = { page: await runAxe(page, 'dashboard with the job panel') };
  if (await page.locator('#jobclose').isVisible()) await page.locator('#jobclose').click();
  await openFailoverDialog(page);
  result.axe.dialog = await runAxe(page, 'failover dialog');
  await closeDialog(page);
  await page.locator('#tab-history').click();
  await page.waitForFunction(() => !!document.querySelector('#history table, #history form'), null, { timeout: 10000 })
    .catch(() => say('history view did not load within 10 s'));
  result.axe.history = await runAxe(page, 'history');
  await page.locator('#tab-live').click();
}

async function main() {
  if (!BASE || !TOKEN || !TOPO.master) throw new Error('HAPANEL_URL, HAPANEL_TOKEN and HAPANEL_TOPO are needed');
  fs.mkdirSync(OUT, { recursive: true });
  const browser = await launch();
  say('chromium ' + browser.version());
  result.chromium = browser.version();
  let page = null, problems = null;
  try {
    ({ page, problems } = await openDashboard(browser, BASE, TOKEN));
    page.setDefaultTimeout(10000);
    /* "without reload": the main frame navigates once, at the start */
    let navigations = 1;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    const transport = { polls: 0, streams: 0 };
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/ui/clusters') transport.polls++;
      if (u.pathname === '/ui/stream') transport.streams++;
    });
    result.transport = transport;
    /* the drill moves the master: after it, no step assumes which node is
       the master (they read it from the drawing or ask the Sentinels) */
    const steps = [['drawn', stepDrawn], ['kill', stepKill], ['switchover', stepSwitchover],
                   ['drill', stepDrill], ['restore', stepRestore], ['schedule', stepSchedule], ['charts', stepCharts], ['phone', stepPhone], ['history', stepHistory],
                   ['viewer', () => stepViewer(browser)], ['axe', stepAxe],
                   ['fallback', () => stepFallback(browser)]];
    result.steps = {};
    result.took_ms = {};
    let drawn = true;
    for (const [name, fn] of steps) {
      /* without a drawing the timed steps can only fail: say so once */
      if (!drawn && (name === 'kill' || name === 'switchover' || name === 'drill')) { result.steps[name] = 'not run'; continue; }
      const t0 = Date.now();
      say('--- ' + name);
      try {
        const ok = await fn(page);
        if (name === 'drawn') drawn = ok;
        result.steps[name] = ok === false ? 'failed' : 'done';
      } catch (e) {
        check(false, 'step ' + name + ': ' + (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e));
        result.steps[name] = 'error';
        await shot(page, 'error-' + name + '.png', true).catch(() => {});
      }
      result.took_ms[name] = Date.now() - t0;
      say(name + ' took ' + result.took_ms[name] + ' ms');
    }
    say('the page fetched GET /ui/clusters ' + transport.polls + ' times and opened GET /ui/stream ' +
        transport.streams + ' times');
    /* the token's removal from the address bar is history.replaceState,
       which is not a navigation */
    check(navigations === 1, 'the page navigated (reloaded) ' + (navigations - 1) + ' time(s) during the test');
    const csp = await page.evaluate(() => window.__hp.csp);
    check(!csp.length, 'Content-Security-Policy violations: ' + csp.join('; '));
    check(!problems.pageErrors.length, 'uncaught errors in the page: ' + problems.pageErrors.join('; '));
    result.console_errors = problems.consoleErrors.slice(0, 50);
    for (const c of result.console_errors) say('console error: ' + c);
  } finally {
    await browser.close().catch(() => {});
  }
  result.ok = failures.length === 0;
}

main().catch((e) => {
  failures.push('dashboard.mjs: ' + (e && e.stack ? e.stack : e));
  say(failures[failures.length - 1]);
}).finally(() => {
  result.ok = failures.length === 0;
  send({ result });
  stopInput();
  process.exitCode = result.ok ? 0 : 1;
});
