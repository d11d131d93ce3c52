/* page_latency.mjs — the page side of bench/page_latency.py: one dashboard
 * open in headless Chromium (tests/browser/lib.mjs: Debian's chromium
 * through playwright-core, the recorder's MutationObserver on the
 * topology drawing), reporting every change of the drawn master as
 * {"event": "master", "addr", "t"} on stdout, t being the page's
 * Date.now() at the mutation. It also counts how the page gets its
 * updates: GET /ui/clusters polls and event streams opened.
 *
 * Environment: HAPANEL_URL, HAPANEL_TOKEN, HAPANEL_BENCH_NO_STREAM (1: GET
 * /ui/stream is refused in the browser, so the page falls back to polling). It ends when a line arrives on
 * stdin (or stdin closes), printing {"result": {...}}. */
import { say, send, readLine, stopInput, launch, openDashboard, masterOf, fmtNodes } from '../tests/browser/lib.mjs';

const BASE = process.env.HAPANEL_URL;
const TOKEN = process.env.HAPANEL_TOKEN;
const NO_STREAM = process.env.HAPANEL_BENCH_NO_STREAM === '1';
const result = { ok: false, changes: 0, polls: 0, streams: 0, stream_urls: [], errors: [] };

async function main() {
  const browser = await launch();
  result.chromium = browser.version();
  let last = null;
  try {
    const onChange = (e) => {
      const m = masterOf(e.nodes);
      if (m && m !== last) {
        if (last === null) send({ event: 'ready', addr: m, t: e.t, nodes: fmtNodes(e.nodes) });
        else send({ event: 'master', addr: m, t: e.t });
        last = m;
        result.changes++;
      }
    };
    /* HAPANEL_BENCH_NO_STREAM=1: the live stream refused, so the page
       polls (as it does past the stream cap) */
    const beforeGoto = NO_STREAM ? (ctx) => ctx.route((u) => u.pathname === '/ui/stream', (r) => r.abort()) : null;
    const { page, problems } = await openDashboard(browser, BASE, TOKEN, { onChange, beforeGoto });
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/ui/clusters') result.polls++;
      if (r.resourceType() === 'eventsource' || /stream/.test(u.pathname)) {
        result.streams++;
        if (result.stream_urls.length < 5) result.stream_urls.push(u.pathname);
      }
    });
    result.t0 = Date.now();
    await readLine(24 * 3600 * 1000).catch(() => null);
    result.t1 = Date.now();
    result.errors = problems.pageErrors;
    result.ok = true;
  } finally {
    await browser.close().catch(() => {});
  }
}

main().catch((e) => {
  result.errors.push(String(e && e.stack ? e.stack : e));
  say(result.errors[result.errors.length - 1]);
}).finally(() => {
  send({ result });
  stopInput();
});
