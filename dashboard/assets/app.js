/*
 * app.js - the strata dashboard: one page, five views chosen by the URL's
 * hash (#/overview, #/rollouts, #/lineage/REF, #/jobs, #/approvals), all
 * read from the daemon's JSON API (/api/v1/...), kept live by the event
 * stream (/api/v1/stream, Server-Sent Events read with fetch so that the
 * token travels in the Authorization header, never in a URL).
 *
 * Every value from the API reaches the page through textContent or an
 * attribute set with setAttribute (el() below): nothing is parsed as
 * HTML. The API token is asked for once, kept in sessionStorage (this tab
 * only) and sent only as "Authorization: Bearer ...".
 */
'use strict';

(function () {
  const TOKEN_KEY = 'strata.api-token';
  const MAX_EVENTS = 500;
  const view = document.getElementById('view');
  const liveEl = document.getElementById('live');
  const latestEl = document.getElementById('latest');
  const tokenBox = document.getElementById('token-box');
  const tokenInput = document.getElementById('token-input');

  let events = []; /* the newest MAX_EVENTS, oldest first */
  let lastEventId = null;
  let renderGen = 0;
  let refreshTimer = null;
  let streamCtl = null;
  const jobFilters = { kind: '', state: '', base: '', text: '', type: '' };
  let approveMsg = '';
  /* A page that can bring itself up to date without a redraw (the jobs
   * page: its filters keep focus and caret) sets this while shown. */
  let softRefresh = null;

  /* ---- helpers ---------------------------------------------------- */

  /* el('a', {href: x}, 'text', child...): text is always a text node. */
  function el(tag, attrs) {
    const e = document.createElement(tag);
    const a = attrs || {};
    for (const k of Object.keys(a)) {
      const v = a[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (let i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(parent, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) {
      kid.forEach((k) => add(parent, k));
      return;
    }
    parent.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  /* sha256:0123456789ab for a digest; anything else as it is. */
  function short(d) {
    if (!d) return '—';
    const m = /^([a-z0-9]+):([0-9a-f]{16,})$/.exec(String(d));
    return m ? m[1] + ':' + m[2].slice(0, 12) : String(d);
  }
  function when(ms) {
    if (!ms) return '—';
    const t = typeof ms === 'number' ? new Date(ms) : new Date(String(ms));
    if (isNaN(t.getTime())) return String(ms);
    return t.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  }
  function badge(state) {
    const s = String(state || 'unknown');
    return el('span', { class: 'state s-' + s.replace(/[^a-z-]/g, '') }, s);
  }
  function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
  }
  function table(caption, heads, rows, cls) {
    return el('div', { class: 'wrap' },
      el('table', { class: cls || 'stack' },
        el('caption', { class: 'muted' }, caption),
        el('thead', null, el('tr', null, heads.map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', null, rows.map((r) =>
          el('tr', r.attrs || null, r.cells.map((c, i) => el('td', { 'data-label': heads[i] }, c)))))));
  }
  function notice(text, cls) {
    return el('p', { class: 'notice ' + (cls || ''), role: 'status' }, text);
  }

  /* ---- the API ----------------------------------------------------- */

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return '';
    }
  }
  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const t = token();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  }
  class ApiError extends Error {
    constructor(status, msg) {
      super(msg);
      this.status = status;
    }
  }
  async function api(path) {
    const r = await fetch(path, { headers: headers({ Accept: 'application/json' }), cache: 'no-store' });
    const body = await r.json().catch(() => null);
    if (r.status === 401) {
      askToken();
      throw new ApiError(401, 'the API needs a token: enter it under "API token" above');
    }
    if (!r.ok) throw new ApiError(r.status, (body && body.error) || r.statusText);
    return body;
  }
  async function post(path, obj) {
    const r = await fetch(path, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json', Accept: 'application/json' }),
      body: JSON.stringify(obj),
      cache: 'no-store',
    });
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, (body && body.error) || r.statusText);
    return body;
  }
  /* Jobs: the newest 500 and every queued or running one, by id. */
  async function loadJobs() {
    const lists = await Promise.all([
      api('/api/v1/jobs?tail=500'),
      api('/api/v1/jobs?state=queued&limit=500'),
      api('/api/v1/jobs?state=running&limit=500'),
    ]);
    const byId = new Map();
    lists.forEach((l) => l.items.forEach((j) => byId.set(j.id, j)));
    return Array.from(byId.values()).sort((a, b) => a.id - b.id);
  }

  function askToken() {
    tokenBox.open = true;
  }

  /* ---- the live stream ------------------------------------------- */

  function setLive(on, text) {
    liveEl.className = 'live ' + (on ? 'on' : 'off');
    liveEl.textContent = text;
  }
  function addEvent(e) {
    if (events.length && e.id <= events[events.length - 1].id) return false;
    events.push(e);
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
    return true;
  }
  function onEvent(e) {
    if (!addEvent(e)) return;
    latestEl.textContent = 'Latest event: ' + e.type + (e.subject ? ' ' + e.subject : '') + ' at ' + when(e.time);
    if (route().page === 'jobs') {
      const tbody = document.getElementById('events-body');
      if (tbody && eventMatches(e)) {
        const row = eventRow(e);
        row.classList.add('new');
        tbody.prepend(row);
      }
    }
    scheduleRefresh();
  }
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (softRefresh) softRefresh();
      else if (route().page !== 'lineage') render(false);
    }, 300);
  }
  function handleBlock(block) {
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let v = c < 0 ? '' : line.slice(c + 1);
      if (v.startsWith(' ')) v = v.slice(1);
      if (field === 'id') id = v;
      else if (field === 'data') data.push(v);
    }
    if (id !== null) lastEventId = id;
    if (data.length) {
      try {
        onEvent(JSON.parse(data.join('\n')));
      } catch (err) {
        /* not an event: ignored */
      }
    }
  }
  /* Reads /api/v1/stream for as long as the page lives; reconnects with
   * backoff, resuming after the last event id seen. */
  async function stream() {
    let backoff = 500;
    for (;;) {
      const ctl = new AbortController();
      streamCtl = ctl;
      try {
        const h = headers({ Accept: 'text/event-stream' });
        if (lastEventId !== null) h['Last-Event-ID'] = String(lastEventId);
        const r = await fetch('/api/v1/stream', { headers: h, cache: 'no-store', signal: ctl.signal });
        if (r.status === 401) {
          setLive(false, 'live updates need the API token');
          askToken();
          await new Promise((res) => ctl.signal.addEventListener('abort', res));
          continue;
        }
        if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
        setLive(true, 'live');
        backoff = 500;
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            handleBlock(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
        throw new Error('the stream ended');
      } catch (err) {
        if (ctl.signal.aborted) continue; /* a new token: at once */
        setLive(false, 'reconnecting…');
        await sleep(backoff + Math.random() * 250);
        backoff = Math.min(backoff * 2, 15000);
      }
    }
  }
  function restartStream() {
    if (streamCtl) streamCtl.abort();
  }

  /* ---- routing ----------------------------------------------------- */

  function route() {
    const h = location.hash.replace(/^#\/?/, '');
    const slash = h.indexOf('/');
    const page = slash < 0 ? h : h.slice(0, slash);
    let arg = '';
    try {
      arg = slash < 0 ? '' : decodeURIComponent(h.slice(slash + 1));
    } catch (e) {
      arg = '';
    }
    const pages = ['overview', 'rollouts', 'lineage', 'jobs', 'approvals'];
    return { page: pages.includes(page) ? page : 'overview', arg: arg };
  }
  const renderers = {
    overview: renderOverview,
    rollouts: renderRollouts,
    lineage: renderLineage,
    jobs: renderJobs,
    approvals: renderApprovals,
  };
  /* Draws the current page; navigate moves focus to it. A refresh keeps
   * the focused control focused when it is drawn again. */
  async function render(navigate) {
    const gen = ++renderGen;
    const r = route();
    softRefresh = null;
    document.querySelectorAll('.top nav a').forEach((a) => {
      if (a.dataset.page === r.page) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    const focusedId = document.activeElement && view.contains(document.activeElement) ? document.activeElement.id : '';
    let nodes;
    try {
      nodes = await renderers[r.page](r.arg);
    } catch (err) {
      nodes = [el('h1', null, 'strata'), notice(err.message, 'error')];
    }
    if (gen !== renderGen) return;
    view.replaceChildren.apply(view, [].concat(nodes));
    view.dataset.page = r.page;
    view.dataset.ready = String(gen);
    if (navigate) {
      view.focus();
    } else if (focusedId) {
      const f = document.getElementById(focusedId);
      if (f) f.focus();
    }
  }

  /* ---- fleet overview ------------------------------------------------ */

  async function renderOverview() {
    const [bases, report, graph] = await Promise.all([api('/api/v1/bases'),
      api('/api/v1/report').catch(() => null), api('/api/v1/graph').catch(() => null)]);
    const rows = (report && report.rows) || [];
    /* base -> child -> the digest it was built on (from any edge that
     * knows it: a pin, an annotation, a layer match). */
    const builtOn = new Map();
    ((graph && graph.edges) || []).forEach((e) => {
      if (!builtOn.has(e.parent)) builtOn.set(e.parent, new Map());
      const m = builtOn.get(e.parent);
      if (!m.get(e.child)) m.set(e.child, e.digest || null);
    });
    const out = [el('h1', null, 'Fleet')];
    if (report && report.summary) {
      const s = report.summary;
      out.push(el('p', { id: 'summary' },
        `${s.images} images: ${s.current} current, ${s.behind} behind, ${s.stale} stale, ${s.unknown} unknown.`));
    }
    out.push(el('h2', null, 'Watched bases'));
    const cards = bases.items.map((b) => {
      const byDigest = new Map();
      (builtOn.get(b.ref) || new Map()).forEach((d) => {
        const k = d || 'unknown';
        byDigest.set(k, (byDigest.get(k) || 0) + 1);
      });
      const digests = Array.from(byDigest.entries()).sort((x, y) => y[1] - x[1]);
      return el('section', { class: 'card base-card', 'aria-label': b.ref },
        el('h3', null, el('a', { href: '#/lineage/' + encodeURIComponent(b.ref) }, b.ref)),
        el('p', null, 'Current ', el('code', { title: b.current_digest || '' }, short(b.current_digest)),
          b.verify ? [' ', badge(b.verify.state)] : null),
        b.update ? el('p', { class: 'update' }, 'Update ', el('code', { title: b.update.new || '' }, short(b.update.new)),
          ' ', badge(b.update.state), b.update.hold_reason ? ': ' + b.update.hold_reason : '') : null,
        el('p', { class: 'muted' }, 'Checked ' + when(b.last_check),
          b.last_error ? ' — error: ' + b.last_error : ''),
        digests.length
          ? el('ul', { class: 'digests' }, digests.map(([d, n]) =>
            el('li', null, d === 'unknown' ? 'digest not known' : el('code', { title: d }, short(d)),
              ` ${n} image${n === 1 ? '' : 's'}`, d === b.current_digest ? ' (current)' : '')))
          : el('p', { class: 'muted' }, 'Nothing in the lineage graph is built on it.'));
    });
    out.push(cards.length ? el('div', { class: 'grid' }, cards) : notice('No base is watched yet.'));

    const teams = new Map();
    rows.forEach((r) => {
      const t = r.team || '(no team)';
      const c = teams.get(t) || { stale: 0, behind: 0, current: 0, unknown: 0 };
      c[r.status] = (c[r.status] || 0) + 1;
      teams.set(t, c);
    });
    out.push(el('h2', null, 'Stale images by team'));
    out.push(table('Images by team and status (from the stale report)', ['Team', 'Stale', 'Behind', 'Current', 'Unknown'],
      Array.from(teams.entries()).sort().map(([t, c]) => ({ cells: [t, c.stale, c.behind, c.current, c.unknown] }))));

    /* The trend: what the event log says happened, day by day. */
    const days = new Map();
    events.forEach((e) => {
      const d = when(e.time).slice(0, 10);
      const c = days.get(d) || { updates: 0, ok: 0, failed: 0, prs: 0 };
      if (e.type === 'base.updated') c.updates++;
      else if (e.type === 'rebuild.succeeded') c.ok++;
      else if (e.type === 'rebuild.failed') c.failed++;
      else if (e.type.startsWith('pr.')) c.prs++;
      days.set(d, c);
    });
    const dayRows = Array.from(days.entries()).sort().reverse().slice(0, 14);
    const most = Math.max(1, ...dayRows.map(([, c]) => c.updates + c.ok + c.failed + c.prs));
    out.push(el('h2', null, 'Trend'));
    out.push(table(`Activity by day, from the newest ${events.length} events`,
      ['Day', 'Base updates', 'Rebuilds', 'Failed', 'Pull requests', 'Volume'],
      dayRows.map(([d, c]) => {
        const bar = el('span', { class: 'bar', 'aria-hidden': 'true' });
        bar.style.width = Math.round((120 * (c.updates + c.ok + c.failed + c.prs)) / most) + 'px';
        return { cells: [d, c.updates, c.ok, c.failed, c.prs, bar] };
      })));
    return out;
  }

  /* ---- rollouts -------------------------------------------------------- */

  async function renderRollouts() {
    const jobs = await loadJobs();
    const groups = new Map();
    jobs.forEach((j) => {
      const k = j.base_ref + '@' + j.base_digest;
      if (!groups.has(k)) groups.set(k, { ref: j.base_ref, digest: j.base_digest, jobs: [], newest: 0 });
      const g = groups.get(k);
      g.jobs.push(j);
      g.newest = Math.max(g.newest, j.id);
    });
    const all = Array.from(groups.values()).sort((a, b) => b.newest - a.newest);
    const open = all.filter((g) => g.jobs.some((j) => j.state === 'queued' || j.state === 'running'));
    const done = all.filter((g) => !open.includes(g)).slice(0, 5);
    const out = [el('h1', null, 'Base updates and rollouts')];
    const section = (title, list, id) => {
      out.push(el('h2', { id: id }, title));
      if (!list.length) {
        out.push(el('p', { class: 'muted' }, 'None.'));
        return;
      }
      list.forEach((g) => {
        const finished = g.jobs.filter((j) => j.state === 'succeeded' || j.state === 'cancelled').length;
        const waves = new Map();
        g.jobs.forEach((j) => {
          if (!waves.has(j.wave)) waves.set(j.wave, []);
          waves.get(j.wave).push(j);
        });
        out.push(el('section', { class: 'card rollout', 'aria-label': g.ref + ' ' + short(g.digest) },
          el('h3', null, g.ref, ' ', el('code', { title: g.digest }, short(g.digest))),
          el('p', null, el('label', null, `${finished} of ${g.jobs.length} jobs done `,
            el('progress', { max: g.jobs.length, value: finished }))),
          Array.from(waves.keys()).sort((a, b) => a - b).map((w) => el('div', { class: 'wave' },
            table(`Wave ${w}`, ['Image', 'Action', 'State', 'Attempts', 'Last error', 'Job'],
              waves.get(w).map((j) => ({
                attrs: { 'data-image': j.image },
                cells: [j.image, j.action, badge(j.state), j.attempts, j.last_error || '',
                  el('a', { href: '#/jobs/' + encodeURIComponent(j.image) }, '#' + j.id)],
              })))))));
      });
    };
    section('In progress', open, 'in-progress');
    section('Recently finished', done, 'finished');
    return out;
  }

  /* ---- lineage ------------------------------------------------------- */

  function repoLink(repo) {
    if (!repo) return null;
    return /^https?:\/\//.test(repo) ? el('a', { href: repo, rel: 'noreferrer' }, repo) : el('span', { class: 'mono' }, repo);
  }
  /* The Dockerfile line on the forge's web page (GitHub and Gitea use
   * /blob/, GitLab /-/blob/), or as text for other remotes. */
  function fileLink(repo, file, line) {
    const text = file + (line ? ':' + line : '');
    if (!repo || !/^https?:\/\//.test(repo)) return el('span', { class: 'mono' }, text);
    const base = repo.replace(/\.git$/, '').replace(/\/$/, '');
    const blob = /gitlab/.test(base) ? '/-/blob/HEAD/' : '/blob/HEAD/';
    const href = base + blob + file.split('/').map(encodeURIComponent).join('/') + (line ? '#L' + line : '');
    return el('a', { href: href, rel: 'noreferrer', class: 'mono' }, text);
  }
  async function renderLineage(arg) {
    const [graph, jobs] = await Promise.all([api('/api/v1/graph'), loadJobs().catch(() => [])]);
    /* parent -> (child -> the edges that say so: Dockerfile, annotation...) */
    const children = new Map();
    const isChild = new Set();
    graph.edges.forEach((e) => {
      if (!children.has(e.parent)) children.set(e.parent, new Map());
      const m = children.get(e.parent);
      if (!m.has(e.child)) m.set(e.child, []);
      m.get(e.child).push(e);
      isChild.add(e.child);
    });
    const roots = graph.nodes.filter((n) => children.has(n.ref) && (n.kind === 'base' || !isChild.has(n.ref)))
      .map((n) => n.ref).sort();
    const pick = arg && children.has(arg) ? arg : roots[0];
    const jobsOf = new Map();
    jobs.forEach((j) => jobsOf.set(j.image, (jobsOf.get(j.image) || 0) + 1));
    const out = [el('h1', null, 'Lineage')];
    const select = el('select', {
      id: 'base-pick',
      onchange: (ev) => {
        location.hash = '#/lineage/' + encodeURIComponent(ev.target.value);
      },
    }, roots.map((r) => el('option', { value: r, selected: r === pick }, r)));
    out.push(el('div', { class: 'filters' }, el('label', { for: 'base-pick' }, 'Base', select),
      el('button', { type: 'button', id: 'expand-all', onclick: () => view.querySelectorAll('.tree details').forEach((d) => (d.open = true)) }, 'Expand all'),
      el('button', { type: 'button', id: 'collapse-all', onclick: () => view.querySelectorAll('.tree details').forEach((d) => (d.open = false)) }, 'Collapse all')));
    if (!pick) {
      out.push(notice('The graph has no base with descendants yet (it fills as repositories are scanned).'));
      return out;
    }
    let count = 0;
    const evidence = (e) => el('span', { class: 'edge' },
      repoLink(e.repo), e.path ? [' ', fileLink(e.repo, e.path, e.line)] : null,
      e.digest ? [' ', el('a', { href: '#/jobs/' + encodeURIComponent(e.digest), title: 'Jobs for base digest ' + e.digest },
        el('code', null, short(e.digest)))] : null,
      ' (' + (e.method || 'dockerfile') + ')');
    const node = (child, edges, path) => {
      count++;
      const n = jobsOf.get(child) || 0;
      const meta = el('span', { class: 'node-meta' }, edges.map((e) => [evidence(e), ' ']),
        n ? el('a', { href: '#/jobs/' + encodeURIComponent(child) }, n === 1 ? '1 job' : `${n} jobs`) : null);
      const km = path.has(child) || path.size > 40 ? null : children.get(child);
      if (!km) return el('li', { class: 'leaf', 'data-ref': child }, el('span', { class: 'mono' }, child), ' ', meta);
      const next = new Set(path).add(child);
      return el('li', { 'data-ref': child },
        el('details', { open: true },
          el('summary', null, el('span', { class: 'mono' }, child), ` (${km.size})`),
          meta,
          el('ul', null, Array.from(km.keys()).sort().map((k) => node(k, km.get(k), next)))));
    };
    const top = children.get(pick) || new Map();
    const tree = el('ul', { class: 'tree', 'aria-label': 'Descendants of ' + pick },
      Array.from(top.keys()).sort().map((k) => node(k, top.get(k), new Set([pick]))));
    out.push(el('h2', null, pick));
    out.push(el('p', { class: 'muted', id: 'lineage-count' }, `${count} descendants`));
    out.push(tree);
    return out;
  }

  /* ---- jobs and events ----------------------------------------------- */

  function eventMatches(e) {
    const t = jobFilters.text.toLowerCase();
    if (jobFilters.type && e.type !== jobFilters.type) return false;
    if (jobFilters.base && e.subject !== jobFilters.base && JSON.stringify(e.payload || {}).indexOf(jobFilters.base) < 0) return false;
    return !t || (e.type + ' ' + (e.subject || '') + ' ' + JSON.stringify(e.payload || {})).toLowerCase().includes(t);
  }
  function jobMatches(j) {
    const t = jobFilters.text.toLowerCase();
    if (jobFilters.kind && j.action !== jobFilters.kind) return false;
    if (jobFilters.state && j.state !== jobFilters.state) return false;
    if (jobFilters.base && j.base_ref !== jobFilters.base) return false;
    return !t || [j.image, j.action, j.base_ref, j.base_digest, j.last_error].join(' ').toLowerCase().includes(t);
  }
  function eventRow(e) {
    const p = e.payload && typeof e.payload === 'object' ? e.payload : {};
    const brief = Object.keys(p).slice(0, 4).map((k) => k + '=' + (typeof p[k] === 'string' ? short(p[k]) : JSON.stringify(p[k]))).join(' ');
    const cells = [String(e.id), when(e.time), e.type, e.subject || '', brief];
    const heads = ['Id', 'Time', 'Type', 'Subject', 'Details'];
    return el('tr', { 'data-type': e.type, 'data-id': e.id }, cells.map((c, i) => el('td', { 'data-label': heads[i] }, c)));
  }
  async function renderJobs(arg) {
    let jobs = await loadJobs();
    if (arg) jobFilters.text = arg;
    const out = [el('h1', null, 'Jobs and events')];
    const uniq = (xs) => Array.from(new Set(xs.filter(Boolean))).sort();
    const sel = (id, label, key, values) => el('label', { for: id }, label,
      el('select', {
        id: id,
        onchange: (ev) => {
          jobFilters[key] = ev.target.value;
          drawTables();
        },
      }, el('option', { value: '' }, 'any'), values.map((v) => el('option', { value: v, selected: jobFilters[key] === v }, v))));
    const text = el('input', {
      id: 'f-text', type: 'search', value: jobFilters.text,
      oninput: (ev) => {
        jobFilters.text = ev.target.value;
        drawTables();
      },
    });
    out.push(el('form', { class: 'filters', role: 'search', onsubmit: (ev) => ev.preventDefault() },
      sel('f-kind', 'Kind', 'kind', uniq(jobs.map((j) => j.action))),
      sel('f-state', 'State', 'state', ['queued', 'running', 'succeeded', 'failed', 'cancelled']),
      sel('f-base', 'Base', 'base', uniq(jobs.map((j) => j.base_ref))),
      sel('f-type', 'Event type', 'type', uniq(events.map((e) => e.type))),
      el('label', { for: 'f-text' }, 'Text', text)));
    const jobsBox = el('div', { id: 'jobs-box' });
    const eventsBox = el('div', { id: 'events-box' });
    out.push(el('h2', null, 'Jobs'), jobsBox, el('h2', null, 'Events'), eventsBox);
    function drawTables() {
      const js = jobs.filter(jobMatches).reverse();
      jobsBox.replaceChildren(table(`${js.length} of ${jobs.length} jobs (newest first)`,
        ['Id', 'Image', 'Kind', 'Base', 'Wave', 'State', 'Attempts', 'Updated', 'Last error'],
        js.map((j) => ({
          attrs: { 'data-id': j.id },
          cells: [String(j.id), j.image, j.action, [j.base_ref, ' ', el('code', { title: j.base_digest }, short(j.base_digest))],
            j.wave, badge(j.state), j.attempts, when(j.updated), j.last_error || ''],
        }))));
      const es = events.filter(eventMatches).reverse();
      const t = table(`${es.length} of the newest ${events.length} events (newest first, live)`,
        ['Id', 'Time', 'Type', 'Subject', 'Details'], []);
      const tbody = t.querySelector('tbody');
      tbody.id = 'events-body';
      es.forEach((e) => tbody.append(eventRow(e)));
      eventsBox.replaceChildren(t);
    }
    drawTables();
    const gen = renderGen;
    softRefresh = async () => {
      const fresh = await loadJobs().catch(() => null);
      if (fresh && gen === renderGen) {
        jobs = fresh;
        drawTables();
      }
    };
    return out;
  }

  /* ---- approvals ------------------------------------------------------ */

  async function renderApprovals() {
    const bases = await api('/api/v1/bases');
    const held = bases.items.filter((b) => b.verify && ['awaiting', 'quarantined', 'unverified'].includes(b.verify.state));
    const settled = bases.items.filter((b) => b.verify && !held.includes(b));
    const out = [el('h1', null, 'Approvals')];
    out.push(el('p', { class: 'muted' },
      'A base update whose signature did not verify is held. Approving lets that one digest through unsigned, ' +
      'with an audit event naming the approver; it needs the API token.'));
    /* The outcome outlives the redraw the approval's event brings. */
    const status = el('p', { id: 'approve-status', role: 'status', 'aria-live': 'polite' }, approveMsg);
    const say = (m) => {
      approveMsg = m;
      status.textContent = m;
    };
    out.push(status);
    out.push(el('h2', null, 'Held for a signature'));
    if (!held.length) out.push(notice('No digest is waiting for a signature approval.'));
    held.forEach((b) => {
      const v = b.verify;
      const btn = approveButton({
        class: 'primary approve',
        id: 'approve-' + (b.ref + '@' + v.digest).replace(/[^A-Za-z0-9_-]/g, '_'),
        'data-ref': b.ref, 'data-digest': v.digest, 'data-state': v.state,
      }, say, 'Approving ' + b.ref + '…', { ref: b.ref, digest: v.digest, unsigned: true },
      (r) => `Approved ${r.base} ${short(r.digest)} (was ${r.prior_state}).`,
      'Approve ', el('code', null, short(v.digest)), ' unsigned');
      out.push(el('section', { class: 'card held', 'aria-label': b.ref },
        el('h3', null, b.ref),
        el('p', null, el('code', { title: v.digest }, short(v.digest)), ' ', badge(v.state)),
        v.reason ? el('p', { class: 'muted' }, v.reason) : null,
        el('p', null, btn)));
    });
    out.push(el('h2', null, 'Held updates'));
    out.push(el('p', { class: 'muted' }, 'An update whose package changes match ',
      el('code', null, 'pull_requests.evidence.hold_on'),
      ' (a new distribution release, a major version, a downgrade, a removal) waits for approval; ' +
      'approving lets that digest be planned.'));
    const updates = bases.items.filter((b) => b.update && ['held', 'awaiting-evidence'].includes(b.update.state));
    if (!updates.length) out.push(notice('No update is held.'));
    updates.forEach((b) => out.push(heldUpdate(b, say)));
    out.push(el('h2', null, 'Settled'));
    out.push(table('Bases with a signature policy', ['Base', 'Digest', 'State', 'Since'],
      settled.map((b) => ({ attrs: { 'data-ref': b.ref }, cells: [b.ref, el('code', { title: b.verify.digest }, short(b.verify.digest)), badge(b.verify.state), when(b.verify.since)] }))));
    return out;
  }

  /* A button that POSTs body to /api/v1/bases/approve: says `doing`, then
   * done(answer) and redraws; a 401 asks for the token. */
  function approveButton(attrs, say, doing, body, done, ...label) {
    const btn = el('button', Object.assign({
      type: 'button',
      onclick: async () => {
        btn.disabled = true;
        say(doing);
        try {
          say(done(await post('/api/v1/bases/approve', body)));
          render(false);
        } catch (err) {
          btn.disabled = false;
          if (err.status === 401) {
            say('Approving needs the API token: enter it under "API token" above, then approve again.');
            askToken();
            tokenInput.focus();
          } else {
            say('Not approved: ' + err.message);
          }
        }
      },
    }, attrs), ...label);
    return btn;
  }

  /* A base's update held by hold_on (or waiting for its package delta):
   * why, what changed, and for a held one the button that approves it. */
  function heldUpdate(b, say) {
    const u = b.update;
    const e = u.evidence || {};
    const id = (b.ref + '@' + u.new).replace(/[^A-Za-z0-9_-]/g, '_');
    const lists = [['Major versions', e.majors], ['Downgraded', e.downgrades], ['Removed', e.removals]]
      .filter(([, l]) => Array.isArray(l) && l.length);
    let btn = null;
    if (u.state === 'held') {
      btn = approveButton({
        class: 'primary approve-update', id: 'approve-update-' + id,
        'data-ref': b.ref, 'data-digest': u.new,
      }, say, 'Approving the update of ' + b.ref + '…', { ref: b.ref, digest: u.new },
      (r) => `Approved the update of ${r.base} to ${short(r.digest)}.`,
      'Approve the update to ', el('code', null, short(u.new)));
    }
    let why;
    if (u.hold_reason) why = el('p', { class: 'reason' }, 'Held: ' + u.hold_reason);
    else if (e.error) {
      why = el('p', { class: 'reason' }, `Packages not read (attempt ${e.attempts || 1}): ${e.error}` +
        (e.retry_at ? '; next try ' + when(e.retry_at) : ''));
    } else why = el('p', { class: 'reason' }, 'Waiting for its package changes to be read.');
    return el('section', { class: 'card held-update', 'aria-label': 'Update of ' + b.ref, 'data-ref': b.ref },
      el('h3', null, b.ref),
      el('p', null, el('code', { title: u.old || '' }, short(u.old)), ' → ',
        el('code', { title: u.new || '' }, short(u.new)), ' ', badge(u.state)),
      why,
      e.summary ? el('p', { class: 'muted summary' }, 'Packages: ' + e.summary) : null,
      lists.length
        ? el('dl', { class: 'changes' }, lists.map(([t, l]) => [el('dt', null, t),
          el('dd', null, el('ul', null, l.map((x) => el('li', null, x))))]))
        : null,
      btn ? el('p', null, btn) : null);
  }

  /* ---- start ------------------------------------------------------------ */

  async function loadEvents() {
    const r = await api('/api/v1/events?tail=' + MAX_EVENTS);
    r.items.forEach(addEvent);
    if (events.length) lastEventId = String(events[events.length - 1].id);
  }
  async function start() {
    await loadEvents().catch(() => null);
    render(false);
    stream();
  }
  document.getElementById('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    try {
      sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
    } catch (e) {
      /* storage refused: the token lives until the page is left */
    }
    tokenInput.value = '';
    tokenBox.open = false;
    loadEvents().catch(() => null).then(() => render(false));
    restartStream();
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* nothing kept */
    }
    restartStream();
    render(false);
  });
  window.addEventListener('hashchange', () => render(true));
  /* The link of the page already shown changes no hash: it draws the page
   * again, fresh, as a click on it promises. */
  document.querySelectorAll('.top nav a').forEach((a) => {
    a.addEventListener('click', (ev) => {
      if (a.getAttribute('href') === location.hash) {
        ev.preventDefault();
        render(true);
      }
    });
  });
  start();
})();
