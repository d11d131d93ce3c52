/* lib.mjs — what the browser scripts share (tests/browser/dashboard.mjs and
 * bench/page_latency.mjs): headless Chromium (Debian's /usr/bin/chromium)
 * through playwright-core, a recorder put into the page before its own
 * script runs, and the line protocol with the Python side.
 *
 * The recorder watches the topology drawing (the server-rendered
 * <svg class="topo"> with one <g class="tnode st-..." data-addr data-role>
 * per process) with a MutationObserver and keeps a log of every change of
 * what it shows, each with Date.now() taken in the page at the mutation: on
 * one machine that clock is the one Python's time.time() reads, so the two
 * sides' times compare directly.
 *
 * The protocol: this side writes one JSON object per line on stdout
 * ({"ask": ...} expects one JSON line back on stdin; {"event": ...} and
 * {"result": ...} do not). Progress for people goes to stderr. */
import { chromium } from 'playwright-core';
import readline from 'node:readline';

export const CHROMIUM = process.env.HAPANEL_CHROMIUM || '/usr/bin/chromium';

export function say(...a) {
  const d = new Date();
  process.stderr.write('[browser ' + d.toISOString().slice(11, 23) + '] ' + a.join(' ') + '\n');
}

export function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/* Lines from the Python side, one at a time. */
const rl = readline.createInterface({ input: process.stdin });
const queue = [];
const waiters = [];
rl.on('line', (l) => {
  const w = waiters.shift();
  if (w) w(l); else queue.push(l);
});
rl.on('close', () => { while (waiters.length) waiters.shift()(null); });

export function readLine(timeoutMs) {
  if (queue.length) return Promise.resolve(queue.shift());
  return new Promise((resolve, reject) => {
    let t = null;
    const w = (l) => { clearTimeout(t); resolve(l); };
    t = setTimeout(() => {
      const i = waiters.indexOf(w);
      if (i >= 0) waiters.splice(i, 1);
      reject(new Error('no answer from the Python side within ' + timeoutMs + ' ms'));
    }, timeoutMs);
    waiters.push(w);
  });
}

/* Asks the Python side to do something (kill a node, ...); its answer. */
export async function ask(what, args, timeoutMs = 60000) {
  send(Object.assign({ ask: what }, args || {}));
  const l = await readLine(timeoutMs);
  if (l === null) throw new Error('the Python side closed stdin while asked ' + what);
  const j = JSON.parse(l);
  if (j.error) throw new Error('the Python side could not ' + what + ': ' + j.error);
  return j;
}

export function stopInput() { rl.close(); }

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    /* root in CI: no user namespace sandbox; no GPU here */
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 60000
  });
}

/* Runs in the page before any of its scripts (CDP, so the page's
 * script-src 'self' does not apply). window.__hp.log: [{t, nodes}] where
 * nodes is [[addr, role, state], ...] in document order; a new entry only
 * when that list changes. window.__hp.csp: Content-Security-Policy
 * violations. When window.__hpChange (an exposed binding) exists it is
 * called with each new entry. */
export function recorder() {
  const hp = (window.__hp = { log: [], csp: [], swaps: 0 });
  let last = '';
  function stateOf(g) {
    const m = /(?:^|\s)st-([a-z]+)/.exec(g.getAttribute('class') || '');
    return m ? m[1] : '';
  }
  function snap() {
    const gs = document.querySelectorAll('svg.topo g.tnode');
    const out = [];
    for (const g of gs) out.push([g.getAttribute('data-addr') || '', g.getAttribute('data-role') || '', stateOf(g)]);
    return out;
  }
  function look() {
    const nodes = snap();
    const key = JSON.stringify(nodes);
    if (key === last) return;
    last = key;
    const e = { t: Date.now(), nodes: nodes };
    if (hp.log.length < 20000) hp.log.push(e);
    if (typeof window.__hpChange === 'function') {
      try { window.__hpChange(e); } catch (err) { /* the watcher went away */ }
    }
  }
  new MutationObserver(() => { hp.swaps++; look(); })
    .observe(document, { subtree: true, childList: true, attributes: true,
                         attributeFilter: ['class', 'data-addr', 'data-role'] });
  document.addEventListener('securitypolicyviolation', (e) => {
    if (hp.csp.length < 100) hp.csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + (e.lineNumber || ''));
  });
}

/* A new page (opts: width, height; onChange: called with each new recorder
 * entry; beforeGoto(context): e.g. routes; context: more options of
 * browser.newContext, e.g. isMobile) with the recorder in it, opened
 * on the dashboard with the token in the fragment (web/app.js takes it
 * from there and drops it from the address bar). */
export async function openDashboard(browser, base, token, opts = {}) {
  const { width = 1280, height = 860, onChange = null, beforeGoto = null, context = {} } = opts;
  const ctx = await browser.newContext(Object.assign({ viewport: { width, height }, deviceScaleFactor: 1 }, context));
  if (beforeGoto) await beforeGoto(ctx);
  const page = await ctx.newPage();
  const problems = { pageErrors: [], consoleErrors: [] };
  page.on('pageerror', (e) => problems.pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.consoleErrors.push(m.text()); });
  if (onChange) await page.exposeFunction('__hpChange', onChange);
  await page.addInitScript(recorder);
  await page.goto(base + '/#token=' + encodeURIComponent(token), { waitUntil: 'load', timeout: 30000 });
  return { ctx, page, problems };
}

/* What the drawing shows now: [[addr, role, state], ...]. */
export async function topoNow(page) {
  return page.evaluate(() => {
    const l = window.__hp.log;
    return l.length ? l[l.length - 1].nodes : [];
  });
}

/* The first log entry at or after index `from` for which pred(nodes) is
 * true, waiting up to timeoutMs; {t, nodes, index} or null. */
export async function waitTopo(page, pred, timeoutMs, from = 0) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const log = await page.evaluate((i) => window.__hp.log.slice(i), from);
    for (let i = 0; i < log.length; i++) {
      if (pred(log[i].nodes)) return Object.assign({ index: from + i }, log[i]);
    }
    from += log.length;
    if (Date.now() > end) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function logLength(page) {
  return page.evaluate(() => window.__hp.log.length);
}

export function masterOf(nodes) {
  const m = nodes.filter((n) => n[1] === 'master');
  return m.length === 1 ? m[0][0] : null;
}

export function fmtNodes(nodes) {
  return nodes.map((n) => n[1] + ' ' + n[0] + ' ' + n[2]).join(', ');
}
