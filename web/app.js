/* app.js — the dashboard's script (served as /static/app.js; the page's
 * Content-Security-Policy allows no inline script). See the comment at the top
 * of index.html for what it does. */
(function () {
  'use strict';

  var KEY = 'hapanel.token';
  var STALE_MS = 3000; /* one missed poll is noise; three are an outage */
  var token = '';
  /* A dashboard login (POST /api/v1/login): the cookie travels by itself;
     writes carry the session's CSRF token in X-CSRF-Token. */
  var session = null;
  var myRole = '';
  var lastOk = 0;
  var since = Date.now();
  var rejected = false;
  var lastErr = '';
  var heldAt = 0; /* last update held back because a button was being pressed */
  var pressed = 0; /* when a button in #clusters was pressed (pointerdown), 0 none */
  /* The live stream (GET /ui/stream): its AbortController while open, the
     time bytes last came on it, when to try again after a failure, and a
     page held back while a button is pressed. */
  var live = null;
  var liveAt = 0;
  var liveRetry = 0;
  var heldPage = null;
  var LIVE_STALE_MS = 40000; /* the server sends a comment every 15 s */
  /* With many clusters the page lists them compactly; these are the ones the
     user expanded (sent as ?open=, names separated by newlines). */
  var openSet = [];
  var forceNext = false; /* the next poll answers an expand click: not held */

  var conn = document.getElementById('conn');
  var form = document.getElementById('tokenform');
  var input = document.getElementById('tokeninput');
  var msg = document.getElementById('tokenmsg');
  var pause = document.getElementById('pause');
  var forgetBtn = document.getElementById('forget');
  var clusters = document.getElementById('clusters');
  var tabLive = document.getElementById('tab-live');
  var tabHistory = document.getElementById('tab-history');
  var liveView = document.getElementById('liveview');
  var historyView = document.getElementById('historyview');
  var history_ = document.getElementById('history');
  var jobPanel = document.getElementById('jobpanel');
  var jobBody = document.getElementById('jobbody');
  var notifyEl = document.getElementById('notify');
  var instancesEl = document.getElementById('instances');
  var cfilter = document.getElementById('cfilter');
  var gfilter = document.getElementById('gfilter');
  var gfilterLabel = document.getElementById('gfilterlabel');
  var cfcount = document.getElementById('cfcount');
  var dlStatus = document.getElementById('dlstatus');
  var loginForm = document.getElementById('loginform');
  var loginMsg = document.getElementById('loginmsg');
  var loginUser = document.getElementById('loginuser');
  var loginPass = document.getElementById('loginpass');
  var whoEl = document.getElementById('who');
  var logoutBtn = document.getElementById('logout');

  /* The credentials of a request: the token, or for a write under a login
     the session's CSRF token (the cookie goes by itself). */
  function authHeaders(write) {
    var h = {};
    if (token) h['Authorization'] = 'Bearer ' + token;
    else if (session && write) h['X-CSRF-Token'] = session.csrf;
    return h;
  }

  function authed() { return !!token || !!session; }

  /* Who we are, as the server says (GET /api/v1/session): shown in the
     header; a viewer is not offered the actions (the server refuses them
     anyway). */
  function showWho(j) {
    myRole = j && j.role ? j.role : '';
    whoEl.textContent = j ? (j.user + ' \u00b7 role: ' + j.role) : '';
    whoEl.title = j ? (j.can_act ? 'this role can watch and act' : 'this role can watch, not act') : '';
    whoEl.hidden = !j;
    /* the buttons name the role they need (data-needs); app.css hides the rest */
    document.body.setAttribute('data-role', myRole);
    document.body.classList.toggle('cannot-act', !(j && j.can_act));
    logoutBtn.hidden = !(j && j.via === 'session');
  }

  function whoami(then) {
    fetch('/api/v1/session', { headers: authHeaders(false), cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (j) {
        if (j && j.via === 'session' && j.csrf) session = { user: j.user, role: j.role, csrf: j.csrf };
        showWho(j);
        if (then) then(j);
      })
      .catch(function () { if (then) then(null); });
  }

  function showLogin(text) {
    loginMsg.textContent = text || '';
    loginMsg.hidden = !text;
    loginForm.hidden = false;
  }

  function startSession(j) {
    session = { user: j.user, role: j.role, csrf: j.csrf };
    token = '';
    stopLive();
    liveRetry = 0;
    loginForm.hidden = true;
    form.hidden = true;
    rejected = false;
    since = Date.now();
    lastOk = 0;
    setConn('wait', 'connecting\u2026');
    whoami(null);
    htmx.trigger(notifyEl, 'refresh');
    htmx.trigger(clusters, 'refresh');
    htmx.trigger(instancesEl, 'refresh');
  }

  loginForm.addEventListener('submit', function (evt) {
    evt.preventDefault();
    var u = loginUser.value.trim();
    if (!u || !loginPass.value) return;
    fetch('/api/v1/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: u, password: loginPass.value }),
      cache: 'no-store', credentials: 'same-origin'
    }).then(function (res) {
      return res.json().then(function (j) { return { status: res.status, json: j }; },
                            function () { return { status: res.status, json: null }; });
    }).then(function (r) {
      loginPass.value = '';
      if (r.status === 200 && r.json) { startSession(r.json); return; }
      showLogin(r.json && r.json.error ? r.json.error.message : 'login failed (HTTP ' + r.status + ')');
    }).catch(function () { showLogin('hapanel unreachable'); });
  });

  logoutBtn.addEventListener('click', function () {
    fetch('/api/v1/logout', { method: 'POST', headers: authHeaders(true), cache: 'no-store', credentials: 'same-origin' })
      .then(function () { endSession(''); }, function () { endSession(''); });
  });

  function endSession(text) {
    session = null;
    stopLive();
    showWho(null);
    clusters.textContent = '';
    history_.textContent = '';
    notifyEl.textContent = '';
    setConn('wait', 'logged out');
    showLogin(text);
    showForm('');
  }

  function store(t) {
    try { if (t) localStorage.setItem(KEY, t); else localStorage.removeItem(KEY); } catch (e) { /* private mode: memory only */ }
  }

  function load() {
    var h = location.hash.replace(/^#/, '');
    if (h) {
      var p = new URLSearchParams(h);
      if (p.has('token')) {
        var t = (p.get('token') || '').trim();
        if (t) { token = t; store(t); }
        /* keep the token out of the address bar, history and screenshots */
        history.replaceState(null, '', location.pathname + location.search);
      }
    }
    if (!token) {
      try { token = (localStorage.getItem(KEY) || '').trim(); } catch (e) { token = ''; }
    }
  }

  function setConn(kind, text) {
    conn.className = 'conn conn-' + kind;
    conn.textContent = text;
  }

  function showForm(text) {
    msg.textContent = text || '';
    msg.hidden = !text;
    form.hidden = false;
    forgetBtn.hidden = true;
    input.value = '';
    input.focus();
  }

  function useToken(t) {
    token = t;
    store(t);
    rejected = false;
    since = Date.now();
    lastOk = 0;
    form.hidden = true;
    loginForm.hidden = true;
    forgetBtn.hidden = false;
    session = null;
    stopLive(); /* reopened with this token */
    liveRetry = 0;
    setConn('wait', 'connecting\u2026');
    whoami(null);
    htmx.trigger(notifyEl, 'refresh'); /* now, not in up to 5 s */
    htmx.trigger(instancesEl, 'refresh');
    if (!historyView.hidden && !history_.firstChild) loadHistory();
  }

  function dropToken(text) {
    token = '';
    store('');
    stopLive();
    /* never leave a stale picture under the form */
    clusters.textContent = '';
    history_.textContent = '';
    notifyEl.textContent = '';
    closeJob();
    if (dlg.open) dlg.close();
    document.title = 'hapanel';
    showForm(text);
  }

  function hhmmss(d) {
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  /* An update replaces every button in #clusters. A click whose press and
     release straddle a swap would be lost, so an update waits while a
     button is held down (a press lasts a fraction of a second; at most 2 s
     are honoured). It never waits for a pointer resting on a button or for
     keyboard focus: focus is carried over to the same control in the new
     page instead (keepFocus), and the dialogs live outside #clusters. */
  function holding() { return pressed && Date.now() - pressed < 2000; }

  clusters.addEventListener('pointerdown', function (e) {
    if (e.target.closest && e.target.closest('button')) pressed = Date.now();
  });
  function released() {
    if (!pressed) return;
    pressed = 0;
    setTimeout(function () { /* after the click that ends the press */
      if (heldPage !== null) { var h = heldPage; heldPage = null; swapClusters(h); }
    }, 0);
  }
  document.addEventListener('pointerup', released);
  document.addEventListener('pointercancel', released);

  /* What identifies a control across renders: its tag, id and the data-*
     attributes that name what it acts on (the fragments give every button
     its action and its cluster, node, job, backup or alert; not the ones
     that describe state, like data-master, which a failover changes), or
     its text when it has none of those. */
  var KEY_ATTRS = ['data-act', 'data-cluster', 'data-node', 'data-addr', 'data-job', 'data-backup',
                   'data-alert', 'data-metric'];
  function controlKey(el) {
    var k = el.tagName + '|' + el.id, named = false;
    KEY_ATTRS.forEach(function (n) {
      var v = el.getAttribute(n);
      if (v !== null) { k += '|' + n + '=' + v; named = true; }
    });
    return named ? k : k + '|' + el.textContent.trim();
  }
  var FOCUSABLE = 'button, a[href], input, select, textarea, summary, [tabindex]';
  /* What of #clusters the user has in hand: the focused control and the
     open <details>; and putting it back on the new page. */
  function grasp() {
    var a = document.activeElement, g = { focus: null, open: [] };
    if (a && a !== clusters && clusters.contains(a)) g.focus = controlKey(a);
    clusters.querySelectorAll('details[open]').forEach(function (d) { g.open.push(controlKey(d)); });
    return g;
  }
  function regrasp(g) {
    clusters.querySelectorAll('details').forEach(function (d) {
      if (g.open.indexOf(controlKey(d)) >= 0) d.open = true;
    });
    if (g.focus === null) return;
    var all = clusters.querySelectorAll(FOCUSABLE);
    for (var i = 0; i < all.length; i++) {
      if (controlKey(all[i]) === g.focus) { all[i].focus({ preventScroll: true }); return; }
    }
  }
  function keepFocus(update) {
    var g = grasp();
    update();
    regrasp(g);
  }

  /* After #clusters got a new page, by the poll or the stream. */
  function clustersUpdated() {
    lastOk = Date.now();
    lastErr = '';
    clusters.classList.remove('stale');
    setConn('ok', (streaming() ? 'live (pushed)' : 'live') + ' \u00b7 updated ' + hhmmss(new Date(lastOk)));
    var ov = clusters.querySelector('.overview');
    var worst = ov ? ov.getAttribute('data-worst') : '';
    var label = { down: '[DOWN] ', degraded: '[DEGRADED] ', unknown: '[?] ' }[worst] || '';
    document.title = label + 'hapanel';
    applyFilter();
  }

  /* --- the cluster filter ----------------------------------------------------
     The page is one render shared by every viewer, so the filter is applied
     here, after every swap: a cluster (a row of the compact table, with the
     expansion under it, or a full section) stays when its name or its
     Sentinel group contains the text typed, and it is in the group chosen;
     a group's header goes when none of its clusters stays. The input and
     the select live outside #clusters: typing and focus survive the swaps.
     Kept in sessionStorage (per tab). */
  var FKEY = 'hapanel.cfilter', GKEY = 'hapanel.gfilter';
  function ssGet(k) { try { return sessionStorage.getItem(k) || ''; } catch (e) { return ''; } }
  function ssSet(k, v) { try { sessionStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  var wantGroup = ssGet(GKEY);
  cfilter.value = ssGet(FKEY);

  function fillGroups() {
    /* no prototype: a group may be named "constructor" or "__proto__" */
    var seen = Object.create(null), names = [];
    clusters.querySelectorAll('tr.crow[data-group], section.cluster[data-group]').forEach(function (el) {
      var g = el.getAttribute('data-group');
      if (!seen[g]) { seen[g] = true; names.push(g); }
    });
    names.sort();
    var have = [];
    for (var i = 1; i < gfilter.options.length; i++) have.push(gfilter.options[i].value);
    if (have.join('\n') !== names.join('\n')) {
      while (gfilter.options.length > 1) gfilter.remove(1);
      names.forEach(function (n) {
        var o = document.createElement('option');
        o.value = n;
        o.textContent = n;
        gfilter.appendChild(o);
      });
    }
    gfilter.value = seen[wantGroup] ? wantGroup : '';
    gfilter.hidden = gfilterLabel.hidden = names.length < 2;
    return names.length;
  }

  function applyFilter() {
    var ngroups = fillGroups();
    var text = cfilter.value.trim().toLowerCase(), grp = ngroups > 1 ? gfilter.value : '';
    var total = 0, shown = 0;
    function keep(el) {
      var name = (el.getAttribute('data-cluster') || '').toLowerCase();
      var g = el.getAttribute('data-group') || '';
      if (grp && g !== grp) return false;
      return !text || name.indexOf(text) >= 0 || g.toLowerCase().indexOf(text) >= 0;
    }
    var table = clusters.querySelector('table.clist');
    if (table) {
      table.querySelectorAll('tr.crow').forEach(function (tr) {
        var ok = keep(tr);
        total++;
        if (ok) shown++;
        tr.hidden = !ok;
        var x = tr.nextElementSibling;
        if (x && x.classList.contains('cexp')) x.hidden = !ok;
      });
      table.querySelectorAll('tbody.gbody').forEach(function (tb) {
        tb.hidden = !tb.querySelector('tr.crow:not([hidden])');
      });
    } else {
      clusters.querySelectorAll('section.cluster').forEach(function (sec) {
        var ok = keep(sec);
        total++;
        if (ok) shown++;
        sec.hidden = !ok;
      });
      clusters.querySelectorAll('div.group').forEach(function (d) {
        d.hidden = !d.querySelector('section.cluster:not([hidden])');
      });
    }
    var filtering = !!text || !!grp;
    var say = !total ? '' : filtering ? shown + ' of ' + total + ' shown' : '';
    if (filtering && !shown) say = 'no cluster matches (of ' + total + ')';
    if (cfcount.textContent !== say) cfcount.textContent = say;
  }

  cfilter.addEventListener('input', function () { ssSet(FKEY, cfilter.value); applyFilter(); });
  gfilter.addEventListener('change', function () {
    wantGroup = gfilter.value;
    ssSet(GKEY, wantGroup);
    applyFilter();
  });
  /* "/" focuses the filter (as on many sites), Escape in it clears it */
  document.addEventListener('keydown', function (e) {
    var t = e.target, typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey && !liveView.hidden) {
      e.preventDefault();
      cfilter.focus();
      cfilter.select();
    }
  });
  cfilter.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && cfilter.value) {
      e.preventDefault();
      cfilter.value = '';
      ssSet(FKEY, '');
      applyFilter();
    }
  });

  function swapClusters(html) {
    keepFocus(function () {
      clusters.innerHTML = html;
      htmx.process(clusters);
    });
    clustersUpdated();
  }

  /* --- the live stream -------------------------------------------------------
     GET /ui/stream pushes the page whenever it changes: an SSE event
     "clusters" whose data is the fragment, rendered once on the server for
     every open page. It is read with fetch rather than EventSource so that
     it carries the same Authorization header as every other request. While
     it is up the 1 s poll is off; when it fails (503 past the server's
     stream cap, a network error, a restart) the page polls as before and
     tries the stream again 10 s later. */
  function streaming() { return !!live && Date.now() - liveAt < LIVE_STALE_MS; }

  function livePage(html) {
    if (pause.checked) return;
    if (openSet.length) { forceNext = true; htmx.trigger(clusters, 'refresh'); return; } /* its own open set */
    if (holding()) { heldPage = html; heldAt = Date.now(); return; }
    heldPage = null;
    swapClusters(html);
  }

  function stopLive() {
    if (live) live.abort();
    live = null;
  }

  function startLive() {
    if (live || !authed() || rejected || Date.now() < liveRetry || !window.fetch ||
        !window.ReadableStream || !window.TextDecoder) return;
    var ctl = new AbortController();
    live = ctl;
    liveAt = Date.now();
    fetch('/ui/stream', { headers: authHeaders(false), signal: ctl.signal, cache: 'no-store',
                          credentials: 'same-origin' }).then(function (res) {
      if (res.status === 401 || res.status === 403) {
        /* the poll's answer handles it (log in again, or paste a token) */
        forceNext = true;
        htmx.trigger(clusters, 'refresh');
      }
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      var reader = res.body.getReader(), dec = new TextDecoder(), buf = '', data = [], name = '';
      function pump() {
        return reader.read().then(function (r) {
          if (live !== ctl) return null;
          if (r.done) { /* hapanel ended it (every 10 min, or a restart): open it again */
            live = null;
            liveRetry = 0;
            return null;
          }
          liveAt = Date.now();
          buf += dec.decode(r.value, { stream: true });
          var i;
          while ((i = buf.indexOf('\n')) >= 0) {
            var line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.charAt(line.length - 1) === '\r') line = line.slice(0, -1);
            if (line === '') {
              if (data.length && name === 'clusters') livePage(data.join('\n'));
              if (data.length && name === 'notify' && !pause.checked) {
                notifyEl.innerHTML = data.join('\n');
                htmx.process(notifyEl);
              }
              data = [];
              name = '';
            } else if (line.charAt(0) !== ':') {
              var c = line.indexOf(':');
              var f = c < 0 ? line : line.slice(0, c), v = c < 0 ? '' : line.slice(c + 1);
              if (v.charAt(0) === ' ') v = v.slice(1);
              if (f === 'data') data.push(v); else if (f === 'event') name = v;
            }
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      if (live !== ctl) return;
      live = null;
      liveRetry = Date.now() + 10000; /* the 1 s poll takes over meanwhile */
    });
  }

  /* Every htmx request carries the token; without one (or when paused) the
     poll is cancelled rather than sent to fail. */
  document.addEventListener('htmx:configRequest', function (evt) {
    if (!authed() || (pause.checked && (evt.detail.elt === clusters || evt.detail.elt === notifyEl ||
                                        evt.detail.elt.id === 'hapanels'))) {
      evt.preventDefault();
      return;
    }
    if (evt.detail.elt === clusters && openSet.length) evt.detail.parameters['open'] = openSet.join('\n');
    if (evt.detail.elt === clusters && forceNext) {
      forceNext = false;
    } else if ((evt.detail.elt === clusters || evt.detail.elt === notifyEl) && streaming()) {
      evt.preventDefault(); /* the stream brings the page and the panel */
      return;
    } else if (evt.detail.elt === clusters && holding()) {
      heldAt = Date.now();
      evt.preventDefault();
      return;
    }
    var ah = authHeaders(evt.detail.verb !== 'get');
    for (var k in ah) evt.detail.headers[k] = ah[k];
  });

  /* The history and job fragments answer 400/404/503 with HTML that says what
     is wrong (a bad filter, an unknown job): show it rather than nothing. */
  document.addEventListener('htmx:beforeSwap', function (evt) {
    var x = evt.detail.xhr;
    var tgt = evt.detail.target;
    if (!x || x.status < 400 || !tgt) return;
    var ct = x.getResponseHeader('Content-Type') || '';
    if (ct.indexOf('text/html') === 0 && (history_.contains(tgt) || jobBody.contains(tgt))) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  /* 401 is an unknown token. 403 on the read-only poll means the token has no
     role at all; a 403 on an operator action only means "viewer", which is no
     reason to drop the token (the action dialog says so itself). */
  document.addEventListener('htmx:responseError', function (evt) {
    var s = evt.detail.xhr ? evt.detail.xhr.status : 0;
    var sent = evt.detail.requestConfig && evt.detail.requestConfig.headers
      ? evt.detail.requestConfig.headers['Authorization'] : undefined;
    if (sent !== undefined && sent !== 'Bearer ' + token) return; /* an old token's late answer */
    if (session && !token && s === 401) {
      endSession('the session ended (HTTP 401): log in again');
      return;
    }
    if (s === 401 || (s === 403 && evt.detail.elt === clusters)) {
      rejected = true;
      setConn('bad', 'token rejected');
      dropToken('token rejected (HTTP ' + s + ') \u2014 paste a valid token');
    } else if (s === 403) {
      setConn('bad', 'not allowed with this token (operator role needed)');
    } else {
      lastErr = 'HTTP ' + s;
      setConn('bad', 'hapanel answered HTTP ' + s);
    }
  });

  document.addEventListener('htmx:sendError', function () {
    lastErr = 'hapanel unreachable';
    setConn('bad', lastErr);
  });

  /* the poll's swap carries focus and open details over as the stream's does */
  var polledGrasp = null;
  document.addEventListener('htmx:beforeSwap', function (evt) {
    if (evt.detail.target === clusters) polledGrasp = grasp();
  });
  document.addEventListener('htmx:afterSwap', function (evt) {
    if (evt.detail.target !== clusters) return;
    if (polledGrasp) regrasp(polledGrasp);
    polledGrasp = null;
    clustersUpdated();
  });

  /* A dashboard that silently stops updating looks healthy: say so. */
  setInterval(function () {
    if (!authed() || rejected) { stopLive(); return; }
    if (pause.checked) { setConn('wait', 'paused'); return; }
    if (live && !streaming()) stopLive(); /* silent for too long: poll, retry later */
    startLive();
    if (holding()) { setConn('wait', 'update held while a button is pressed'); return; }
    if (streaming() && lastOk) {
      /* pushed on change: a quiet page is a current one while the stream lives */
      clusters.classList.remove('stale');
      setConn('ok', 'live (pushed) \u00b7 updated ' + hhmmss(new Date(lastOk)));
      return;
    }
    var ref = Math.max(lastOk || since, heldAt);
    var age = Date.now() - ref;
    if (age > STALE_MS) {
      setConn('bad', (lastOk ? 'no update for ' : 'no answer for ') + Math.round(age / 1000) + ' s' +
              (lastErr ? ' (' + lastErr + ')' : '') + (lastOk ? ' \u2014 view is stale' : ''));
      clusters.classList.add('stale');
    } else {
      clusters.classList.remove('stale');
    }
  }, 1000);

  form.addEventListener('submit', function (evt) {
    evt.preventDefault();
    var t = input.value.trim();
    if (!t) return;
    useToken(t); /* the next poll (within 1 s) uses it */
  });

  /* after a pause, count the outage from now, not from the last update */
  pause.addEventListener('change', function () {
    if (!pause.checked) {
      lastOk = 0;
      since = Date.now();
      clusters.classList.remove('stale');
      forceNext = true; /* the stream only sends what changes from now */
      htmx.trigger(clusters, 'refresh');
    }
  });

  forgetBtn.addEventListener('click', function () {
    dropToken('');
    setConn('wait', 'no token');
  });

  /* --- views --------------------------------------------------------------- */

  function loadHistory() {
    var f = document.getElementById('hfilters');
    if (f) { htmx.trigger(f, 'submit'); return; } /* keep the filters */
    htmx.ajax('GET', '/ui/history', { target: '#history', swap: 'innerHTML' });
  }

  function showView(v) {
    var live = v === 'live';
    liveView.hidden = !live;
    historyView.hidden = live;
    tabLive.setAttribute('aria-selected', live ? 'true' : 'false');
    tabHistory.setAttribute('aria-selected', live ? 'false' : 'true');
    if (!live && !history_.firstChild) loadHistory();
  }

  tabLive.addEventListener('click', function () { showView('live'); });
  tabHistory.addEventListener('click', function () { showView('history'); });
  document.getElementById('histreload').addEventListener('click', loadHistory);

  /* --- the job panel ---------------------------------------------------------- */

  function closeJob() {
    jobBody.textContent = ''; /* removes the polling element: polling stops */
    jobPanel.hidden = true;
  }

  function openJob(id) {
    id = String(id);
    if (!/^[0-9]{1,15}$/.test(id)) return;
    var d = document.createElement('div');
    d.className = 'jobview job-loading';
    d.setAttribute('hx-get', '/ui/jobs/' + id);
    d.setAttribute('hx-trigger', 'load');
    d.setAttribute('hx-swap', 'outerHTML');
    d.textContent = 'loading job #' + id + '\u2026';
    jobBody.textContent = '';
    jobBody.appendChild(d);
    jobPanel.hidden = false;
    htmx.process(d);
  }

  document.getElementById('jobclose').addEventListener('click', closeJob);

  /* --- actions: the confirmation dialog --------------------------------------- */

  var dlg = document.getElementById('actdlg');
  var actForm = document.getElementById('actform');
  var actTitle = document.getElementById('acttitle');
  var fFailover = document.getElementById('f-failover');
  var fResync = document.getElementById('f-resync');
  var fAck = document.getElementById('f-ack');
  var fMaint = document.getElementById('f-maint');
  var fDrill = document.getElementById('f-drill');
  var drillMode = document.getElementById('drillmode');
  var drillConfirm = document.getElementById('drillconfirm');
  var drillConfirmLabel = document.getElementById('drillconfirmlabel');
  var drillKillOpt = drillMode.querySelector('option[value="kill-master"]');
  var drillKillText = drillKillOpt.textContent;
  var actMinutes = document.getElementById('actminutes');
  var actComment = document.getElementById('actcomment');
  var reasonLabel = document.getElementById('reasonlabel');
  var actMode = document.getElementById('actmode');
  var actTarget = document.getElementById('acttarget');
  var actPause = document.getElementById('actpause');
  var actAt = document.getElementById('actat');
  var atLabel = document.getElementById('atlabel');
  /* The dialog's "run at" (a UTC time) as epoch seconds, '' when empty, or
     null when it does not parse. */
  function runAt() {
    var v = actAt.value.trim();
    if (!v) return '';
    var t = Date.parse(v + (v.length === 16 ? ':00' : '') + 'Z');
    return isNaN(t) ? null : Math.floor(t / 1000);
  }
  var actFull = document.getElementById('actfull');
  var actWhat = document.getElementById('actwhat');
  var actReason = document.getElementById('actreason');
  var actErr = document.getElementById('acterr');
  var actGo = document.getElementById('actgo');
  var actPlan = document.getElementById('actplan');
  var planChecks = document.getElementById('planchecks');
  var planChoice = document.getElementById('planchoice');
  var planBlock = ''; /* why confirm is disabled, from the last plan */
  var planSeq = 0, planTimer = null;
  var cur = null; /* what the dialog is about, copied from the clicked button */
  var ACTS = ['failover', 'resync', 'reset', 'bgsave', 'backup', 'delete-backup', 'upload-backup', 'verify-restore', 'ack', 'cancel-job',
    'maintenance', 'end-maintenance', 'drill'];
  var sending = false;

  function attr(el, name) { return el.getAttribute(name) || ''; }

  function showErr(text) {
    actErr.textContent = text;
    actErr.hidden = !text;
  }

  /* The replicas a failover could promote, from the clicked cluster's rows. */
  function fillTargets(btn) {
    var sec = btn.closest('section.cluster');
    var rows = sec ? sec.querySelectorAll('tr.node[data-addr]') : [];
    actTarget.textContent = '';
    var best = document.createElement('option');
    best.value = '';
    best.textContent = 'the best replica (Sentinel chooses)';
    actTarget.appendChild(best);
    for (var i = 0; i < rows.length; i++) {
      var cand = attr(rows[i], 'data-cand');
      if (cand === 'master') continue;
      var o = document.createElement('option');
      o.value = attr(rows[i], 'data-addr');
      o.textContent = o.value + (cand && cand !== 'ok' ? ' \u2014 ' + cand : '');
      o.setAttribute('data-cand', cand);
      actTarget.appendChild(o);
    }
  }

  /* The failover plan for what the dialog says now: each check, Sentinel's
   * choice, and confirm disabled (with the reason) when it would fail. */
  var MARK = { ok: '\u2713', warn: '\u26a0', wait: '\u23f3', fail: '\u2717' };
  function showPlan(p) {
    planChecks.textContent = '';
    (p.checks || []).forEach(function (c) {
      var li = document.createElement('li');
      li.className = 'pc-' + (MARK[c.state] ? c.state : 'fail');
      li.textContent = (MARK[c.state] || '?') + ' ' + c.message;
      planChecks.appendChild(li);
    });
    var t = '';
    if (p.state === 'fail') {
      planBlock = 'Cannot start: ' + (p.blocker || 'a check fails');
      t = planBlock;
    } else {
      planBlock = '';
      if (p.choice) t = 'Sentinel ' + p.sentinel + ' would promote ' + p.choice + ' (' + p.choice_why + ').';
      if (p.state === 'wait') t += ' The job first waits (up to 15 s, changing nothing) for: ' + p.blocker;
      if (p.pre_failover_hook) t += ' Before any change hapanel asks the pre-failover hook, which can veto it.';
    }
    planChoice.textContent = t;
    planChoice.className = 'planchoice' + (p.state === 'fail' ? ' bad' : '');
    actPlan.hidden = false;
    if (!sending) actGo.disabled = !!planBlock;
  }
  function loadPlan() {
    if (!cur || cur.act !== 'failover' || !token) return;
    var q = '?mode=' + encodeURIComponent(actMode.value);
    if (actMode.value === 'graceful' && actTarget.value) q += '&target=' + encodeURIComponent(actTarget.value);
    var pz = actPause.value.trim();
    if (/^[0-9]+$/.test(pz) && Number(pz) >= 50 && Number(pz) <= 30000) q += '&max_pause_ms=' + pz;
    var seq = ++planSeq;
    fetch('/api/v1/clusters/' + encodeURIComponent(cur.cluster) + '/failover/plan' + q, {
      headers: authHeaders(false), cache: 'no-store', credentials: 'same-origin'
    }).then(function (res) { return res.ok ? res.json() : null; }).then(function (p) {
      if (seq === planSeq && p && cur && cur.act === 'failover') showPlan(p);
    }).catch(function () { /* the dialog still works without the dry run */ });
  }
  function planSoon() {
    if (planTimer) clearTimeout(planTimer);
    planTimer = setTimeout(loadPlan, 150);
  }

  /* Says concretely what the confirmed action does; called on every change. */
  function describe() {
    if (!cur) return;
    var m = cur.master || 'the current master';
    var text = '', go = '';
    if (cur.act === 'failover') {
      var graceful = actMode.value === 'graceful';
      /* force ignores a target (Sentinel elects) and cannot be scheduled */
      actTarget.disabled = !graceful;
      actAt.disabled = !graceful;
      if (!graceful) actAt.value = '';
      for (var i = 0; i < actTarget.options.length; i++) {
        var c = actTarget.options[i].getAttribute('data-cand');
        actTarget.options[i].disabled = graceful && !!c && c !== 'ok';
      }
      if (!graceful) actTarget.value = '';
      if (actTarget.selectedOptions.length && actTarget.selectedOptions[0].disabled) actTarget.value = '';
      if (graceful) {
        var t = actTarget.value || 'the best replica';
        var p = actPause.value.trim();
        var pauseText = p ? p + ' ms' : 'half of Sentinel\u2019s down-after-milliseconds (5000 ms at most)';
        text = 'Writes to ' + m + ' will pause for at most ' + pauseText + ' while ' + t +
          ' catches up; Sentinel then promotes it and ' + m + ' becomes its replica. ' +
          'No acknowledged write is lost.';
        if (actTarget.value) text += ' ' + t + '\u2019s replica-priority is lowered for the election and restored afterwards.';
        text += ' If the replica does not catch up in time, writes are unpaused and nothing changes.';
        go = 'Switch over';
        var at = runAt();
        if (at) {
          text = 'Scheduled for ' + new Date(at * 1000).toISOString().replace('T', ' ').slice(0, 19) +
            ' UTC (it can be cancelled until then; at that time the same checks run first, and it is refused if they fail): ' + text;
          go = 'Schedule switchover';
        }
      } else {
        text = 'Sentinel promotes a replica now, without waiting for it to catch up and without ' +
          'a quorum check. If ' + m + ' still answers, its writes pause (bounded, as above) until the ' +
          'promotion and it is demoted at once, so writes it acknowledged meanwhile are not lost; ' +
          'writes a lagging replica had not received are.';
        go = 'Force failover';
      }
    } else if (cur.act === 'resync') {
      if (actFull.checked) {
        text = cur.node + ' drops its data and copies everything from ' + m + ' (full sync). ' +
          'It never becomes a writable master in between; the copy loads the master and the network.';
        go = 'Full resync';
      } else {
        text = cur.node + ' is pointed at ' + m + ' again (REPLICAOF) and catches up: a partial ' +
          'sync when ' + m + '\u2019s backlog still covers it, else a full sync.';
        go = 'Resync';
      }
    } else if (cur.act === 'reset') {
      text = 'Each Sentinel forgets and rediscovers the replicas and Sentinels of ' + cur.cluster +
        ', one at a time' + (cur.sentinels ? ' (' + cur.sentinels + ' Sentinels)' : '') +
        '; hapanel waits until one sees them all again before resetting the next.';
      go = 'Reset Sentinels';
    } else if (cur.act === 'backup') {
      text = 'Streams an RDB snapshot from ' + cur.source +
        (cur.role === 'master' ? ' (the master: no healthy replica is available)' : ' (the healthiest replica)') +
        ' to the backup directory and verifies it (RDB header, CRC64 when the file has one, SHA-256). ' +
        cur.source + ' forks to write the snapshot, as for a replica\u2019s full sync; nothing else changes.';
      go = 'Back up now';
    } else if (cur.act === 'bgsave') {
      text = 'Runs BGSAVE on ' + cur.node + (cur.role === 'master' ? ' (the master)' : '') +
        ': it forks and writes its own RDB file in its data directory; the job waits until the save ' +
        'ends and checks rdb_last_bgsave_status. The fork costs memory (copy-on-write) and can stall a ' +
        'large instance briefly. Nothing is copied to hapanel: use \u201cback up now\u201d for that.';
      go = 'Run BGSAVE';
    } else if (cur.act === 'delete-backup') {
      text = 'Deletes backup #' + cur.backup + ' of ' + cur.cluster + ' (taken ' + cur.created +
        ' from ' + cur.node + ', ' + cur.size + '): its RDB file is removed from the backup ' +
        'directory and from the catalogue, and its off-site copy, if it has one, from the object ' +
        'store ([s3]; retried until the store agrees). This cannot be undone.';
      go = 'Delete backup';
    } else if (cur.act === 'verify-restore') {
      text = 'Checks that backup #' + cur.backup + ' of ' + cur.cluster + ' restores: its RDB file is ' +
        'loaded by a scratch redis-server started on the panel\u2019s host ([restore] redis_server; ' +
        'loopback, a free port, a temp dir under the data dir, nothing saved), then what it loaded ' +
        'is compared with the key figures of the catalogue (the key count, and each sampled key ' +
        'with its type). The scratch server is stopped and its temp dir removed afterwards. It ' +
        'needs memory for the whole dataset on this host for a while. No node of the cluster is ' +
        'touched.';
      go = 'Verify restore';
    } else if (cur.act === 'upload-backup') {
      text = 'Uploads backup #' + cur.backup + ' of ' + cur.cluster + ' again to the [s3] object ' +
        'store as ' + cur.remoteKey + ', from attempt 1: a signed PUT of the file, then a HEAD that ' +
        'checks the stored size. Failed attempts are retried with backoff up to [s3] max_attempts. ' +
        'Nothing on any node changes.';
      go = 'Upload again';
    } else if (cur.act === 'cancel-job') {
      text = 'Cancels ' + (cur.kind || 'job') + ' job #' + cur.job + ' of ' + cur.cluster +
        (cur.at ? ', scheduled for ' + cur.at : '') + ', before it starts: it ends as cancelled, ' +
        'with your name, and never runs. Nothing on any node is changed.';
      go = 'Cancel job';
    } else if (cur.act === 'maintenance') {
      var mins = actMinutes.value.trim() || '?';
      text = 'For ' + mins + ' minutes no replica of ' + cur.cluster + ' can be promoted: every ' +
        'replica\u2019s replica-priority is set to 0 (persisted with CONFIG REWRITE) and the job ' +
        'waits until every Sentinel has read it. A master restarted meanwhile comes back as the ' +
        'master: no automatic failover happens, even if it is down longer than down-after. At the ' +
        'end (or on \u201cend maintenance\u201d) the original priorities are put back.';
      go = 'Start maintenance';
    } else if (cur.act === 'end-maintenance') {
      text = 'Ends the maintenance window of ' + cur.cluster + ' (planned until ' + cur.until +
        ') now: every replica gets its original replica-priority back (persisted), and ' +
        'automatic failover works again once the Sentinels read it.';
      go = 'End maintenance';
    } else if (cur.act === 'drill') {
      var dm = drillMode.value, kill = dm === 'kill-master';
      drillConfirmLabel.hidden = !kill;
      text = 'A failover drill on ' + cur.cluster + ': hapanel finds the master through the Sentinels, ' +
        'as an application does, and writes probe keys to it (SET ' + (cur.prefix || '<prefix>') +
        '<drill id>:1, :2, \u2026, one every few ms), then ';
      if (dm === 'graceful') {
        text += 'runs a graceful switchover of ' + m + ' (writes pause while a replica catches up; ' +
          'no acknowledged write should be lost)';
      } else if (dm === 'force') {
        text += 'runs a forced failover of ' + m + ' (Sentinel promotes a replica now, without ' +
          'waiting for it to catch up: acknowledged writes can be lost, which the drill counts)';
      } else if (cur.killMethod === 'shutdown') {
        text += 'sends SHUTDOWN NOSAVE to ' + m + ': it stops, the Sentinels find it down and fail ' +
          'over by themselves, and it stays stopped until you restart it';
      } else {
        text += 'sends DEBUG SLEEP ' + (cur.killSleep || '?') + ' to ' + m + ': it stops answering ' +
          'for ' + (cur.killSleep || '?') + ' s, longer than down-after, so the Sentinels find it ' +
          'down and fail over by themselves (it needs enable-debug-command on ' + m + ')';
      }
      text += '. It waits until every Sentinel names the new master, keeps writing a little longer, ' +
        'reads every acknowledged probe key back from the new master, counts the clients left on ' +
        'the old one and deletes the probe keys. The report gives the write gap, the acknowledged ' +
        'writes lost and the detection, promotion and agreement times. This is a real failover: ' +
        'the applications of ' + cur.cluster + ' see it.';
      if (kill) text += ' To confirm, type the cluster name (' + cur.cluster + ') below.';
      go = kill ? 'Kill the master' : 'Run drill';
      if (!sending) actGo.disabled = kill && drillConfirm.value !== cur.cluster;
    } else if (cur.act === 'ack') {
      text = (cur.severity || 'alert').toUpperCase() + ' ' + cur.rule + (cur.node ? ' on ' + cur.node : '') +
        ': ' + cur.message + '. Acknowledging records your token\u2019s name, the time and the comment with the alert' +
        (cur.ackedBy ? ', replacing the acknowledgement by ' + cur.ackedBy : '') + '. It sends no ' +
        'message and does not resolve the alert: it stays active until its condition clears.';
      go = 'Acknowledge';
    }
    actWhat.textContent = text;
    if (!sending) actGo.textContent = go;
    if (cur.act === 'failover') planSoon();
  }

  function openAction(btn) {
    var act = attr(btn, 'data-act');
    if (ACTS.indexOf(act) < 0) return;
    cur = {
      act: act,
      cluster: attr(btn, 'data-cluster'),
      master: attr(btn, 'data-master'),
      node: attr(btn, 'data-node'),
      sentinels: attr(btn, 'data-sentinels'),
      source: attr(btn, 'data-source'),
      role: attr(btn, 'data-role'),
      backup: attr(btn, 'data-backup'),
      created: attr(btn, 'data-created'),
      size: attr(btn, 'data-size'),
      remoteKey: attr(btn, 'data-key'),
      alert: attr(btn, 'data-alert'),
      rule: attr(btn, 'data-rule'),
      severity: attr(btn, 'data-severity'),
      message: attr(btn, 'data-message'),
      ackedBy: attr(btn, 'data-acked-by'),
      until: attr(btn, 'data-until'),
      job: attr(btn, 'data-job'),
      kind: attr(btn, 'data-kind'),
      at: attr(btn, 'data-at'),
      prefix: attr(btn, 'data-prefix'),
      allowKill: attr(btn, 'data-allow-kill') === '1',
      killMethod: attr(btn, 'data-kill-method'),
      killSleep: attr(btn, 'data-kill-sleep')
    };
    if ((act === 'cancel-job' && !/^[0-9]{1,15}$/.test(cur.job)) ||
        ((act === 'delete-backup' || act === 'upload-backup' || act === 'verify-restore') && !/^[0-9]{1,15}$/.test(cur.backup)) ||
        (act === 'ack' && !/^[0-9]{1,15}$/.test(cur.alert))) { cur = null; return; }
    fFailover.hidden = act !== 'failover';
    fResync.hidden = act !== 'resync';
    fAck.hidden = act !== 'ack';
    fMaint.hidden = act !== 'maintenance';
    fDrill.hidden = act !== 'drill';
    drillMode.value = 'graceful';
    drillConfirm.value = '';
    /* kill-master only where [drill] allow_kill permits it; the API refuses it too */
    drillKillOpt.disabled = !cur.allowKill;
    drillKillOpt.textContent = drillKillText + (cur.allowKill ? '' : ' (off: [drill] allow_kill = 1 allows it)');
    actMinutes.value = '30';
    /* an ack has its comment; a delete takes nothing; the rest a reason */
    reasonLabel.hidden = act === 'ack' || act === 'delete-backup' || act === 'cancel-job' ||
      act === 'end-maintenance';
    actMode.value = 'graceful';
    actPause.value = '';
    actAt.value = '';
    actFull.checked = false;
    actReason.value = '';
    actComment.value = act === 'ack' ? attr(btn, 'data-comment') : '';
    showErr('');
    sending = false;
    actGo.disabled = false;
    planBlock = '';
    actPlan.hidden = true;
    planChecks.textContent = '';
    planChoice.textContent = '';
    if (act === 'failover') fillTargets(btn);
    actTitle.textContent = act === 'failover' ? 'Failover of ' + cur.cluster
      : act === 'resync' ? 'Resync replica ' + cur.node + ' (' + cur.cluster + ')'
      : act === 'reset' ? 'Reset the Sentinels of ' + cur.cluster
      : act === 'backup' ? 'Back up ' + cur.cluster
      : act === 'bgsave' ? 'BGSAVE on ' + cur.node + ' (' + cur.cluster + ')'
      : act === 'delete-backup' ? 'Delete backup #' + cur.backup + ' of ' + cur.cluster
      : act === 'upload-backup' ? 'Upload backup #' + cur.backup + ' of ' + cur.cluster
      : act === 'verify-restore' ? 'Verify that backup #' + cur.backup + ' of ' + cur.cluster + ' restores'
      : act === 'maintenance' ? 'Maintenance of ' + cur.cluster
      : act === 'end-maintenance' ? 'End the maintenance of ' + cur.cluster
      : act === 'drill' ? 'Failover drill on ' + cur.cluster
      : act === 'cancel-job' ? 'Cancel job #' + cur.job + ' (' + cur.cluster + ')'
      : 'Acknowledge alert #' + cur.alert + ' (' + cur.cluster + ')';
    /* red for what changes a node or deletes; an ack only records */
    actGo.className = act === 'ack' ? 'primary' : 'danger';
    describe();
    dlg.showModal();
    if (act === 'ack') actComment.focus();
  }

  [actMode, actTarget, actFull, drillMode].forEach(function (el) { el.addEventListener('change', describe); });
  drillConfirm.addEventListener('input', describe);
  actPause.addEventListener('input', describe);
  actAt.addEventListener('input', describe);
  actMinutes.addEventListener('input', describe);
  document.getElementById('actcancel').addEventListener('click', function () { dlg.close(); });

  /* Enter never confirms an action, wherever it is pressed in the dialog
     (a text field, a checkbox, a select: each would submit the form); only
     a click or Enter/Space on the confirm button itself does. */
  actForm.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.key === 'Enter' && t && t.tagName !== 'TEXTAREA' && t.tagName !== 'BUTTON') e.preventDefault();
  });

  /* The History tables refresh themselves (hx-trigger every 5s): not while
     the History tab is hidden, nor while the refresh is paused. */
  document.addEventListener('htmx:beforeRequest', function (e) {
    if (e.detail.elt && e.detail.elt.id === 'htables' && (historyView.hidden || pause.checked)) e.preventDefault();
  });

  actForm.addEventListener('submit', function (evt) {
    evt.preventDefault(); /* method=dialog would close it before we know */
    if (!cur || sending) return;
    if (planBlock) { showErr(planBlock); return; }
    var base = '/api/v1/clusters/' + encodeURIComponent(cur.cluster);
    var body = {}, url, method = 'POST';
    var reason = actReason.value.trim();
    if (reason && !reasonLabel.hidden) body.reason = reason;
    if (cur.act === 'failover') {
      url = base + '/failover';
      body.mode = actMode.value;
      if (body.mode === 'graceful' && actTarget.value) body.target = actTarget.value;
      var at = runAt();
      if (at === null) { showErr('Run at: not a date and time.'); return; }
      if (at) {
        if (body.mode !== 'graceful') { showErr('Only a graceful switchover can be scheduled.'); return; }
        body.at = at;
      }
      {
        var p = actPause.value.trim();
        if (p) {
          var n = Number(p);
          if (!/^[0-9]+$/.test(p) || n < 50 || n > 30000) {
            showErr('The longest write pause must be a whole number of ms from 50 to 30000.');
            return;
          }
          body.max_pause_ms = n;
        }
      }
    } else if (cur.act === 'resync') {
      url = base + '/nodes/' + encodeURIComponent(cur.node) + '/resync';
      body.full = actFull.checked;
    } else if (cur.act === 'reset') {
      url = base + '/sentinels/reset';
    } else if (cur.act === 'backup') {
      url = base + '/backups';
      if (cur.source) body.node = cur.source; /* the node the dialog named */
    } else if (cur.act === 'bgsave') {
      url = base + '/nodes/' + encodeURIComponent(cur.node) + '/bgsave';
    } else if (cur.act === 'upload-backup') {
      url = '/api/v1/backups/' + cur.backup + '/upload';
    } else if (cur.act === 'verify-restore') {
      url = '/api/v1/backups/' + cur.backup + '/verify-restore';
    } else if (cur.act === 'maintenance') {
      url = base + '/maintenance';
      var mv = actMinutes.value.trim();
      if (!/^[0-9]+$/.test(mv) || Number(mv) < 1 || Number(mv) > 1440) {
        showErr('The duration must be a whole number of minutes from 1 to 1440.');
        return;
      }
      /* the API takes the end as a time; the browser's clock is near enough */
      body.until = Math.floor(Date.now() / 1000) + Number(mv) * 60;
    } else if (cur.act === 'drill') {
      url = base + '/drills';
      body.mode = drillMode.value;
      if (body.mode === 'kill-master') {
        if (drillConfirm.value !== cur.cluster) {
          showErr('Type the cluster name (' + cur.cluster + ') exactly to confirm killing its master.');
          return;
        }
        body.confirm = drillConfirm.value;
      }
    } else if (cur.act === 'end-maintenance') {
      url = base + '/maintenance';
      method = 'DELETE';
      body = null;
    } else if (cur.act === 'delete-backup') {
      url = '/api/v1/backups/' + cur.backup;
      method = 'DELETE';
      body = null;
    } else if (cur.act === 'cancel-job') {
      url = '/api/v1/jobs/' + cur.job;
      method = 'DELETE';
      body = null;
    } else {
      url = '/api/v1/alerts/' + cur.alert + '/ack';
      var c = actComment.value.trim();
      if (c.length > 500) { showErr('The comment is longer than 500 characters.'); return; }
      body = { comment: c };
    }
    if (!authed()) { showErr('Not logged in: log in or paste a token first.'); return; }
    sending = true;
    actGo.disabled = true;
    actGo.textContent = 'sending\u2026';
    showErr('');
    var act = cur.act; /* the dialog may be closed (Escape) before the answer */
    var hdrs = authHeaders(true);
    if (body) hdrs['Content-Type'] = 'application/json';
    fetch(url, {
      method: method,
      headers: hdrs,
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
      credentials: 'same-origin'
    }).then(function (res) {
      return res.text().then(function (txt) {
        var j = null;
        try { j = JSON.parse(txt); } catch (e) { j = null; }
        return { status: res.status, json: j };
      });
    }).then(function (r) {
      if (r.status === 202 && r.json && r.json.job_id) {
        if (dlg.open) dlg.close();
        openJob(r.json.job_id);
        return;
      }
      if (r.status === 200 && (act === 'ack' || act === 'delete-backup' || act === 'cancel-job')) {
        if (dlg.open) dlg.close();
        refresh(); /* show the ack or the gone backup now, not in a second */
        return;
      }
      var m = r.json && r.json.error && r.json.error.message ? r.json.error.message : '';
      if (r.status === 403) {
        showErr('This needs an operator token. The token in use is a viewer token: it can watch ' +
                'but not act. Nothing was changed.');
      } else if (r.status === 401) {
        showErr('The token was rejected (HTTP 401). Nothing was changed.');
      } else {
        showErr('Refused (HTTP ' + r.status + ')' + (m ? ': ' + m : '') + '. Nothing was changed.');
      }
    }, function () {
      showErr('No answer from hapanel. The request may or may not have been taken: look at ' +
              'the cluster\u2019s recent jobs before trying again.');
    }).then(function () {
      sending = false;
      actGo.disabled = false;
      describe();
    });
  });

  dlg.addEventListener('close', function () { cur = null; });

  function refresh() {
    htmx.trigger(clusters, 'refresh');
    htmx.trigger(notifyEl, 'refresh');
    if (!historyView.hidden) loadHistory();
  }

  /* --- backup downloads ------------------------------------------------------ */

  /* The download needs the token, which a plain link would not send (and a
     token in the URL would end up in logs and history). So: fetch with the
     Authorization header, collect the body, save it from a Blob URL. The
     whole file passes through this tab's memory. */
  var dlBusy = {};
  var dlTimer = 0;

  function fmtBytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }

  function dlShow(kind, text, hideAfter) {
    clearTimeout(dlTimer);
    dlStatus.className = 'dlstatus dl-' + kind;
    dlStatus.textContent = text;
    dlStatus.hidden = false;
    if (hideAfter) dlTimer = setTimeout(function () { dlStatus.hidden = true; }, hideAfter);
  }

  /* The file name from Content-Disposition, when it is a plain one; the
     server makes it from the cluster, node and time. */
  function dlName(cd, id) {
    var m = /filename="([^"]+)"/.exec(cd || '');
    var n = m ? m[1] : '';
    return /^[A-Za-z0-9._-]{1,200}$/.test(n) && n[0] !== '.' ? n : 'hapanel-backup-' + id + '.rdb';
  }

  function download(id) {
    id = String(id);
    if (!/^[0-9]{1,15}$/.test(id) || dlBusy[id]) return;
    if (!token) { dlShow('bad', 'No token: paste one first.', 6000); return; }
    dlBusy[id] = true;
    dlShow('wait', 'Downloading backup #' + id + '\u2026');
    fetch('/api/v1/backups/' + id + '/download', {
      headers: authHeaders(false),
      cache: 'no-store',
      credentials: 'same-origin'
    }).then(function (res) {
      if (!res.ok) {
        return res.text().then(function (t) {
          var m = '';
          try { m = JSON.parse(t).error.message || ''; } catch (e) { m = ''; }
          throw new Error('HTTP ' + res.status + (m ? ': ' + m : ''));
        });
      }
      var total = Number(res.headers.get('Content-Length')) || 0;
      var name = dlName(res.headers.get('Content-Disposition'), id);
      var parts = [], got = 0, shown = 0;
      function done() {
        if (total && got !== total) throw new Error('the transfer ended after ' + fmtBytes(got) + ' of ' + fmtBytes(total));
        return { blob: new Blob(parts, { type: 'application/octet-stream' }), name: name, size: got };
      }
      if (!res.body || !res.body.getReader) {
        return res.blob().then(function (b) { parts = [b]; got = b.size; return done(); });
      }
      var reader = res.body.getReader();
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return done();
          parts.push(r.value);
          got += r.value.length;
          if (Date.now() - shown > 250) {
            shown = Date.now();
            dlShow('wait', 'Downloading backup #' + id + ': ' + fmtBytes(got) +
                   (total ? ' of ' + fmtBytes(total) + ' (' + Math.floor(100 * got / total) + '%)' : ''));
          }
          return pump();
        });
      }
      return pump();
    }).then(function (x) {
      var u = URL.createObjectURL(x.blob);
      var a = document.createElement('a');
      a.href = u;
      a.download = x.name;
      a.rel = 'noopener';
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(u); }, 60000);
      dlShow('ok', 'Backup #' + id + ' saved as ' + x.name + ' (' + fmtBytes(x.size) + ').', 8000);
    }, function (e) {
      dlShow('bad', 'Download of backup #' + id + ' failed: ' + (e && e.message ? e.message : 'no answer from hapanel') + '.', 15000);
    }).then(function () { delete dlBusy[id]; });
  }

  dlStatus.addEventListener('click', function () { dlStatus.hidden = true; });

  function toggleOpen(name) {
    var i = openSet.indexOf(name);
    if (i >= 0) openSet.splice(i, 1); else openSet.push(name);
    forceNext = true;
    htmx.trigger(clusters, 'refresh');
  }

  /* One listener for every button in the swapped fragments: they are
     re-created each second, the listener is not. */
  document.addEventListener('click', function (evt) {
    var t = evt.target && evt.target.closest ? evt.target.closest('button.act, button.joblink, button.dl, button.expand') : null;
    if (!t || t.disabled) return;
    evt.preventDefault();
    if (t.classList.contains('expand')) toggleOpen(attr(t, 'data-cluster'));
    else if (t.classList.contains('joblink')) openJob(attr(t, 'data-job'));
    else if (t.classList.contains('dl')) download(attr(t, 'data-backup'));
    else openAction(t);
  });

  /* A cluster's charts (GET /ui/clusters/{name}/charts) go into #charts,
     outside #clusters, so the live updates leave them (and their range
     buttons and 30 s refresh, plain htmx attributes) alone. */
  document.addEventListener('click', function (evt) {
    var t = evt.target && evt.target.closest ? evt.target.closest('button.open-charts') : null;
    if (!t) return;
    htmx.ajax('GET', '/ui/clusters/' + encodeURIComponent(attr(t, 'data-cluster')) + '/charts',
      { target: '#charts', swap: 'innerHTML' }).then(function () { document.getElementById('charts').scrollIntoView({ block: 'nearest' }); });
  });

  load();
  if (token) {
    useToken(token);
  } else {
    /* a login cookie from before, or the login form */
    whoami(function (j) {
      if (j) { startSession({ user: j.user, role: j.role, csrf: j.csrf || '' }); return; }
      setConn('wait', 'not logged in');
      showLogin('');
      showForm('');
    });
  }
})();
