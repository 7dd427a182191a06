// @ts-check
/**
 * The Listening Post console: one page app, routed by location.pathname.
 *
 *   /console/                 live picture of the engine (operators)
 *   /console/profiles/<id>    everything about one person (agents)
 *   /console/triggers/<id>    the people behind a trigger's numbers
 *   /console/segments/<name>  the people behind a segment's size
 *
 * Everything it shows comes from /api/console/* (console/model.ts) with the
 * bearer token the engine printed (it arrives once as #token=...). Data is
 * only ever put in the page as text (textContent, attributes), never as HTML.
 */

/** @typedef {import('../model').ConsoleMeta} ConsoleMeta */
/** @typedef {import('../model').LookupAnswer} LookupAnswer */
/** @typedef {import('../model').ConsoleProfile} ConsoleProfile */
/** @typedef {import('../model').ConsoleCommand} ConsoleCommand */
/** @typedef {import('../model').ConsoleDecision} ConsoleDecision */
/** @typedef {import('../model').ConsoleTrace} ConsoleTrace */
/** @typedef {import('../model').LiveSnapshot} LiveSnapshot */
/** @typedef {import('../model').LiftRow} LiftRow */
/** @typedef {import('../model').TriggerActivity} TriggerActivity */
/** @typedef {import('../model').SegmentActivity} SegmentActivity */

const TOKEN_KEY = 'listening-post.console.token';
const POLL_MS = 2000;
const RECENT_ROWS = 15;
/** Series colours for charts (the page's accent first); labels always carry the meaning. */
const PALETTE = ['#1f5fbf', '#c2571a', '#2f8f5b', '#8a4fbf', '#b8336a', '#4f7f8f', '#8f7a1f', '#5b6472'];

// ---------------------------------------------------------------- DOM helpers

/**
 * Builds an element. `props`: class, text, and attributes (data-*, aria-*,
 * href...) set with setAttribute; functions under on* become listeners.
 * Children: nodes or strings (as text); null/undefined/false are skipped.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [props]
 * @param {...(Node | string | number | null | undefined | false | (Node | string | null | undefined | false)[])} children
 * @returns {HTMLElement}
 */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {unknown[]} children */
function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

// ----------------------------------------------------------------- formatting

/** "2026-03-02 10:15:07 UTC": the same string for people, tests and agents. @param {number | null | undefined} ms */
function fmtTime(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** @param {number | null | undefined} ms */
function timeEl(ms) {
  return h('time', { datetime: ms === null || ms === undefined ? undefined : new Date(ms).toISOString() }, fmtTime(ms));
}

/** @param {number} n */
function fmtInt(n) {
  return Math.round(n).toLocaleString('en-US');
}

/** Per-second rates: one decimal below 100, none above. @param {number | undefined} n */
function fmtRate(n) {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return n >= 100 ? fmtInt(n) : n.toFixed(1);
}

/** @param {number} part @param {number} whole */
function fmtShare(part, whole) {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '—';
}

/** Signed percentage points, with a real minus sign. @param {number | null} pp */
function fmtPp(pp) {
  if (pp === null || !Number.isFinite(pp)) return '—';
  const sign = pp > 0 ? '+' : pp < 0 ? '−' : '±';
  return `${sign}${Math.abs(pp).toFixed(1)}`;
}

/** @param {number} value */
function fmtNumber(value) {
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/**
 * The first characters of an identifier hash (the engine stores them as
 * `<type>:<hash>`; the type is the heading already): enough to tell two
 * apart, never the whole. @param {string} hash
 */
function shortHash(hash) {
  const bare = hash.slice(hash.indexOf(':') + 1);
  return bare.length > 12 ? `${bare.slice(0, 12)}…` : bare;
}

/** @param {string} text */
function words(text) {
  return text.replace(/_/g, ' ');
}

/** @param {ConsoleTrace | null | undefined} trace */
function refusal(trace) {
  return trace?.checks.filter((check) => !check.passed) ?? [];
}

/**
 * The checks that refused, in the order they ran: each channel a rule may
 * use is tried in turn, so "no reachable channel" is one refusal per channel.
 * @param {{ check: string, detail: string }[]} failed
 */
function refusalText(failed) {
  return failed.flatMap((c, i) => [...(i > 0 ? [' · '] : []), h('span', { class: 'check-name' }, c.check), ' — ', h('span', { class: 'reason-detail' }, c.detail)]);
}

// --------------------------------------------------------------- links, badges

/** @param {string} profileId */
function profilePath(profileId) {
  return `/console/profiles/${encodeURIComponent(profileId)}`;
}

/** @param {string} triggerId */
function triggerPath(triggerId) {
  return `/console/triggers/${encodeURIComponent(triggerId)}`;
}

/** @param {string} profileId */
function profileLink(profileId) {
  return h('a', { href: profilePath(profileId), class: 'id' }, profileId);
}

/** @param {string} triggerId */
function triggerLink(triggerId) {
  return h('a', { href: triggerPath(triggerId), class: 'id', title: meta?.triggers.find((t) => t.id === triggerId)?.description }, triggerId);
}

/** @param {string} name */
function segmentPath(name) {
  return `/console/segments/${encodeURIComponent(name)}`;
}

/** Tints of the usual channels, distinct from one another; any other channel gets one from its name. */
const channelHues = new Map([
  ['web', 0],
  ['app', 1],
  ['email', 2],
  ['sms', 3],
  ['push', 4],
  ['call_center', 5],
  ['store', 6],
]);
/** A labelled badge; its tint follows the channel name so a channel looks the same everywhere. @param {string} channel */
function channelBadge(channel) {
  let hue = channelHues.get(channel);
  if (hue === undefined) {
    hue = 0;
    for (const char of channel) hue = (hue * 31 + char.charCodeAt(0)) % 8;
    channelHues.set(channel, hue);
  }
  return h('span', { class: `badge channel tint-${hue}`, 'data-channel': channel }, channel);
}

/** @param {string} text @param {'ok' | 'warn' | 'bad' | 'plain'} [tone] */
function badge(text, tone = 'plain') {
  return h('span', { class: `badge tone-${tone}` }, text);
}

/** @param {string | null} status */
function statusBadge(status) {
  if (status === null) return badge('not kept', 'plain');
  const tone = ['converted', 'clicked', 'opened', 'delivered'].includes(status) ? 'ok' : ['dismissed', 'failed', 'expired', 'bounced'].includes(status) ? 'warn' : 'plain';
  return badge(status, tone);
}

// ---------------------------------------------------------------- API access

class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/**
 * GET one of the console's API paths with the token. Resolves to the JSON
 * answer; rejects with an ApiError carrying the HTTP status (0: no answer)
 * and the API's own `error` text.
 * @template T
 * @param {string} path
 * @returns {Promise<T>}
 */
async function api(path) {
  const bearer = token();
  if (!bearer) throw new ApiError(401, 'Enter the console token to continue.');
  /** @type {Response} */
  let response;
  try {
    response = await fetch(path, { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' }, cache: 'no-store' });
  } catch (error) {
    throw new ApiError(0, `The engine did not answer (${error instanceof Error ? error.message : String(error)}).`);
  }
  /** @type {any} */
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, response.status === 401 ? `The engine refused the token: ${message}` : message);
  }
  return body;
}

// -------------------------------------------------------------------- alerts

/** One message at a time, read out at once (role="alert"). @param {string} message */
function showAlert(message) {
  const alerts = byId('alerts');
  const current = alerts.firstElementChild;
  if (current && current.textContent === message) return;
  alerts.replaceChildren(h('div', { class: 'alert', role: 'alert' }, message));
}

function clearAlert() {
  byId('alerts').replaceChildren();
}

/**
 * What every caller does with a failure: a refused token asks for a new
 * one; anything else is shown in the page.
 * @param {unknown} error
 */
function handleError(error) {
  if (error instanceof ApiError && error.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenForm(error.message);
    return;
  }
  showAlert(error instanceof Error ? error.message : String(error));
}

// ------------------------------------------------------------ token, meta

/** The token arrives once in the fragment (#token=...): keep it for this tab and take it out of the address bar. */
function takeTokenFromUrl() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  try {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1] ?? ''));
  } catch {
    sessionStorage.setItem(TOKEN_KEY, match[1] ?? '');
  }
  history.replaceState(history.state, '', location.pathname + location.search);
}

/** @type {ConsoleMeta | null} */
let meta = null;

async function loadMeta() {
  meta = await api('/api/console/meta');
  const select = /** @type {HTMLSelectElement} */ (byId('lookup-type'));
  const previous = select.value;
  select.replaceChildren(...meta.identifierTypes.map((type) => h('option', { value: type }, words(type))));
  if (meta.identifierTypes.includes(previous)) select.value = previous;
  byId('foot-app').textContent = `Engine ${meta.appId} · times in UTC`;
}

/** Replaces the page with the token form; `message` says why (a refused token). @param {string} [message] */
function showTokenForm(message = '') {
  stopView();
  clearAlert();
  document.title = 'Sign in · Listening Post console';
  const input = h('input', { id: 'token-value', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const form = h(
    'form',
    {
      class: 'card token-form',
      onsubmit: (/** @type {SubmitEvent} */ event) => {
        event.preventDefault();
        const value = /** @type {HTMLInputElement} */ (input).value.trim();
        if (!value) return;
        sessionStorage.setItem(TOKEN_KEY, value);
        start();
      },
    },
    h('label', { for: 'token-value' }, 'Console token'),
    input,
    h('button', { type: 'submit' }, 'Open the console'),
  );
  byId('view').replaceChildren(
    h(
      'section',
      { class: 'narrow', 'aria-labelledby': 'token-title' },
      h('h1', { id: 'token-title' }, 'Sign in'),
      message ? h('p', { class: 'alert', role: 'alert' }, message) : null,
      h('p', { class: 'muted' }, 'The engine prints a link to this console with its token when it starts. Open that link, or paste the token here. It is kept for this browser tab only.'),
      form,
    ),
  );
  if (message) /** @type {HTMLInputElement} */ (input).focus();
}

// -------------------------------------------------------------------- router

/** @typedef {{ stop(): void }} View */
/** @type {View | null} */
let currentView = null;

function stopView() {
  currentView?.stop();
  currentView = null;
}

/** @param {string} pathname */
function routeOf(pathname) {
  const path = pathname.replace(/\/+$/, '');
  if (path === '/console') return /** @type {const} */ ({ page: 'live', id: '' });
  const profile = /^\/console\/profiles\/([^/]+)$/.exec(path);
  if (profile) return /** @type {const} */ ({ page: 'profile', id: safeDecode(profile[1] ?? '') });
  const trigger = /^\/console\/triggers\/([^/]+)$/.exec(path);
  if (trigger) return /** @type {const} */ ({ page: 'trigger', id: safeDecode(trigger[1] ?? '') });
  const segment = /^\/console\/segments\/([^/]+)$/.exec(path);
  if (segment) return /** @type {const} */ ({ page: 'segment', id: safeDecode(segment[1] ?? '') });
  return /** @type {const} */ ({ page: 'missing', id: '' });
}

/** @param {string} text */
function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function render() {
  stopView();
  clearAlert();
  const view = byId('view');
  if (!token()) {
    showTokenForm();
    return;
  }
  const route = routeOf(location.pathname);
  for (const link of document.querySelectorAll('nav a[data-nav]')) {
    if (link.getAttribute('data-nav') === route.page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  view.replaceChildren();
  if (route.page === 'live') currentView = liveView(view);
  else if (route.page === 'profile') currentView = profileView(view, route.id);
  else if (route.page === 'trigger') currentView = triggerView(view, route.id);
  else if (route.page === 'segment') currentView = segmentView(view, route.id);
  else {
    document.title = 'Not found · Listening Post console';
    view.append(h('h1', null, 'No such page'), h('p', null, 'The console has a ', h('a', { href: '/console/' }, 'live page'), ', profile pages, trigger pages and segment pages.'));
  }
}

/** Moves to another console page without reloading; focus goes to the new content. @param {string} path */
function navigate(path) {
  history.pushState(null, '', path);
  render();
  byId('main').focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
  if (!link || link.getAttribute('target')) return;
  const url = new URL(/** @type {HTMLAnchorElement} */ (link).href);
  if (url.origin !== location.origin || !/^\/console(\/|$)/.test(url.pathname) || url.pathname.startsWith('/console/assets/')) return;
  if (url.pathname === location.pathname && url.hash) return; // in-page anchor
  event.preventDefault();
  navigate(url.pathname);
});
window.addEventListener('popstate', render);
// the engine's link opened in a tab that already shows the console: take the new token
window.addEventListener('hashchange', () => {
  if (!/(?:^#|&)token=/.test(location.hash)) return;
  takeTokenFromUrl();
  start();
});

// -------------------------------------------------------------------- lookup

function wireLookup() {
  const form = /** @type {HTMLFormElement} */ (byId('lookup'));
  const select = /** @type {HTMLSelectElement} */ (byId('lookup-type'));
  const input = /** @type {HTMLInputElement} */ (byId('lookup-value'));
  const status = byId('lookup-status');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const type = select.value;
    const value = input.value.trim();
    if (!value) return;
    if (!type) {
      status.textContent = 'Choose an identifier type first.';
      return;
    }
    status.textContent = `Looking up that ${words(type)}…`;
    try {
      /** @type {LookupAnswer} */
      const answer = await api(`/api/console/lookup/${encodeURIComponent(type)}/${encodeURIComponent(value)}`);
      status.textContent = '';
      input.value = '';
      navigate(profilePath(answer.profileId));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) status.textContent = `no one with that ${words(type)}`;
      else {
        status.textContent = '';
        handleError(error);
      }
    }
  });
}

// ------------------------------------------------------------------- tables

/**
 * A table with a caption and column headers; `rows` are arrays of cells
 * (the first is a row header). `numeric` marks right-aligned columns.
 * @param {{ caption: string, captionHidden?: boolean, columns: string[], numeric?: number[], rows: (Node | string)[][], empty: string }} spec
 */
function table(spec) {
  if (spec.rows.length === 0) return h('p', { class: 'empty' }, spec.empty);
  const numeric = new Set(spec.numeric ?? []);
  // a region of its own, reachable with Tab, so it can be scrolled from the keyboard when it is wider than the page
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': spec.caption, tabindex: '0' },
    h(
      'table',
      null,
      h('caption', { class: spec.captionHidden ? 'sr-only' : undefined }, spec.caption),
      h('thead', null, h('tr', null, spec.columns.map((column, i) => h('th', { scope: 'col', class: numeric.has(i) ? 'num' : undefined }, column)))),
      h(
        'tbody',
        null,
        spec.rows.map((cells) =>
          h(
            'tr',
            null,
            cells.map((cell, i) => h(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : undefined, class: numeric.has(i) ? 'num' : undefined }, cell)),
          ),
        ),
      ),
    ),
  );
}

/** @param {ConsoleCommand[]} commands @param {{ caption: string, showTrigger?: boolean }} options */
function commandsTable(commands, options) {
  const showTrigger = options.showTrigger ?? true;
  return table({
    caption: options.caption,
    captionHidden: true,
    columns: ['When', 'Profile', ...(showTrigger ? ['Trigger'] : []), 'Channel', 'Action', 'Status'],
    rows: commands.map((c) => [timeEl(c.at), profileLink(c.profileId), ...(showTrigger ? [triggerLink(c.triggerId)] : []), channelBadge(c.channel), c.action, statusBadge(c.status)]),
    empty: 'No commands yet.',
  });
}

/** @param {ConsoleDecision[]} decisions @param {{ caption: string, showTrigger?: boolean }} options */
function decisionsTable(decisions, options) {
  const showTrigger = options.showTrigger ?? true;
  return table({
    caption: options.caption,
    captionHidden: true,
    columns: ['When', 'Profile', ...(showTrigger ? ['Trigger'] : []), 'Outcome', 'Reason'],
    rows: decisions.map((d) => {
      const failed = refusal(d.trace);
      return [
        timeEl(d.at),
        profileLink(d.profileId),
        ...(showTrigger ? [triggerLink(d.triggerId)] : []),
        badge(words(d.outcome), 'warn'),
        failed.length ? h('span', null, refusalText(failed)) : h('span', { class: 'muted' }, '—'),
      ];
    }),
    empty: 'No decisions yet.',
  });
}

/**
 * Lift per trigger; the always-valid 95 % interval drawn on one scale for
 * every row, with zero marked.
 * @param {LiftRow[]} rows @param {string} caption
 */
function liftTable(rows, caption) {
  const shown = rows.filter((row) => row.enoughData && row.low !== null && row.high !== null);
  let lo = Math.min(0, ...shown.map((row) => /** @type {number} */ (row.low)));
  let hi = Math.max(0, ...shown.map((row) => /** @type {number} */ (row.high)));
  if (hi - lo < 1) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const at = (/** @type {number} */ v) => `${(((v - lo) / (hi - lo)) * 100).toFixed(2)}%`;
  return table({
    caption,
    captionHidden: true,
    columns: ['Trigger', 'Treated', 'Treated converted', 'Control', 'Control converted', 'Lift (pp)', 'Always-valid 95 % interval (pp)'],
    numeric: [1, 2, 3, 4, 5],
    rows: rows.map((row) => {
      let interval;
      if (!row.enoughData || row.low === null || row.high === null) {
        interval = h('span', { class: 'muted' }, 'not enough data', h('span', { class: 'small' }, ` (30 per group; ${fmtInt(Math.min(row.treated, row.control))} so far)`));
      } else {
        const tone = row.low > 0 ? 'up' : row.high < 0 ? 'down' : 'flat';
        const bar = h('span', { class: `ci ci-${tone}`, 'aria-hidden': 'true' }, h('span', { class: 'ci-zero' }), h('span', { class: 'ci-range' }), h('span', { class: 'ci-point' }));
        const zero = /** @type {HTMLElement} */ (bar.children[0]);
        const range = /** @type {HTMLElement} */ (bar.children[1]);
        const point = /** @type {HTMLElement} */ (bar.children[2]);
        zero.style.left = at(0);
        range.style.left = at(row.low);
        range.style.width = `${(((row.high - row.low) / (hi - lo)) * 100).toFixed(2)}%`;
        point.style.left = at(row.lift ?? (row.low + row.high) / 2);
        interval = h('span', { class: 'ci-cell' }, bar, h('span', { class: 'ci-text' }, `[${fmtPp(row.low)}, ${fmtPp(row.high)}]`));
      }
      return [
        triggerLink(row.triggerId),
        fmtInt(row.treated),
        fmtShare(row.treatedConverted, row.treated),
        fmtInt(row.control),
        fmtShare(row.controlConverted, row.control),
        row.enoughData ? fmtPp(row.lift) : h('span', { class: 'muted' }, 'not enough data'),
        interval,
      ];
    }),
    empty: 'No trigger has sent anything yet.',
  });
}

/**
 * Replaces a container's content, unless it did not change or the keyboard
 * focus is inside it (then it waits for the next poll, so focus is not lost).
 * @param {HTMLElement} container @param {unknown} data @param {() => Node} build
 */
function refresh(container, data, build) {
  const signature = JSON.stringify(data);
  if (container.dataset.signature === signature) return;
  if (container.contains(document.activeElement) && container.dataset.signature !== undefined) return;
  container.dataset.signature = signature;
  container.replaceChildren(build());
}

/** @param {string} id @param {string} title @param {...Node} content */
function section(id, title, ...content) {
  return h('section', { class: 'panel', 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...content);
}

// ------------------------------------------------------------------ charts

/**
 * A uPlot time chart that updates in place: setData while its series stay
 * the same, recreated when they change. The figure's caption is its text
 * alternative (latest value of every series) and carries data-points and
 * data-latest for whoever wants to check it moves.
 */
class TimeChart {
  /** @param {string} id @param {string} title @param {string} unit */
  constructor(id, title, unit) {
    this.unit = unit;
    this.plotBox = h('div', { class: 'chart', 'aria-hidden': 'true' });
    this.legend = h('ul', { class: 'legend' });
    this.note = h('p', { class: 'small muted' });
    this.figure = h(
      'figure',
      { class: 'chart-figure', id, 'data-points': '0' },
      h('h3', null, title),
      this.plotBox,
      h('figcaption', null, h('span', { class: 'sr-only' }, `${title}, latest values: `), this.legend, this.note),
    );
    /** @type {any} */
    this.plot = null;
    this.keys = '';
    this.observer = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(this.size());
    });
    this.observer.observe(this.plotBox);
  }

  size() {
    return { width: Math.max(240, this.plotBox.clientWidth), height: 200 };
  }

  /** @param {number[]} times epoch ms @param {{ label: string, values: number[] }[]} series */
  update(times, series) {
    const uPlot = /** @type {any} */ (globalThis).uPlot;
    const keys = series.map((s) => s.label).join('\u0000');
    const data = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
    const last = times.length - 1;
    if (series.length === 0 || !uPlot) {
      this.destroyPlot();
      this.plotBox.replaceChildren(h('p', { class: 'empty' }, series.length === 0 ? 'Nothing yet.' : 'Charts are unavailable (uPlot did not load).'));
    } else if (this.plot && keys === this.keys) {
      this.plot.setData(data);
    } else {
      this.destroyPlot();
      this.plotBox.replaceChildren();
      this.plot = new uPlot(this.options(uPlot, series), data, this.plotBox);
    }
    this.keys = keys;
    this.legend.replaceChildren(
      ...series.map((s, i) => {
        const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
        swatch.style.background = PALETTE[i % PALETTE.length] ?? '#5b6472';
        return h('li', null, swatch, h('span', { class: 'legend-label' }, s.label), h('span', { class: 'legend-value' }, `${fmtRate(s.values[last])}${this.unit}`));
      }),
    );
    this.note.textContent = times.length ? `latest bucket ${fmtTime(times[last])} · ${times.length} buckets` : 'no data yet';
    this.figure.dataset.points = String(times.length);
    this.figure.dataset.latest = times.length ? String(times[last]) : '';
  }

  /** @param {any} uPlot @param {{ label: string }[]} series */
  options(uPlot, series) {
    const axis = { stroke: '#4a5361', grid: { stroke: '#eceef2', width: 1 }, ticks: { stroke: '#dfe3e8', width: 1 }, font: '12px system-ui, sans-serif' };
    return {
      ...this.size(),
      tzDate: (/** @type {number} */ ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (/** @type {unknown} */ _u, /** @type {number} */ _min, /** @type {number} */ max) => [0, Math.max(1, max * 1.15)] } },
      axes: [
        {
          ...axis,
          size: 32,
          // whole seconds at least, so a chart of a few buckets does not label fractions of one second alike
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
          space: 70,
          // UTC wall-clock time like every other time on the page: 10:15:05, or 10:15 for wider ticks
          values: (/** @type {unknown} */ _u, /** @type {number[]} */ splits, /** @type {number} */ _axis, /** @type {number} */ _space, /** @type {number} */ increment) =>
            splits.map((t) => new Date(t * 1000).toISOString().slice(11, increment < 60 ? 19 : 16)),
        },
        { ...axis, size: 50 },
      ],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: false } }))],
    };
  }

  destroyPlot() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }

  destroy() {
    this.observer.disconnect();
    this.destroyPlot();
  }
}

/** @param {Record<string, number[]>} byKey @param {(key: string) => string} [label] */
function keyedSeries(byKey, label = (key) => key) {
  return Object.keys(byKey)
    .sort()
    .map((key) => ({ label: label(key), values: byKey[key] ?? [] }));
}

// ------------------------------------------------------------------ live page

/** @param {HTMLElement} view @returns {View} */
function liveView(view) {
  document.title = 'Live · Listening Post console';
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  const updated = h('p', { class: 'muted', id: 'live-updated' }, 'Waiting for the first snapshot…');
  /** @param {string} id @param {string} label */
  const tile = (id, label) => {
    const value = h('p', { class: 'tile-value', id: `${id}-value` }, '—');
    const note = h('p', { class: 'tile-note' }, '');
    return { el: h('div', { class: 'tile', id }, h('h3', { class: 'tile-label' }, label), value, note), value, note };
  };
  const tiles = {
    in: tile('tile-in', 'Touchpoints in'),
    processed: tile('tile-processed', 'Processed'),
    lag: tile('tile-lag', 'Total lag'),
    dead: tile('tile-dead', 'Dead letters'),
    ready: tile('tile-ready', 'Readiness'),
  };
  const charts = {
    throughput: new TimeChart('chart-throughput', 'Touchpoints in vs processed', '/s'),
    triggers: new TimeChart('chart-triggers', 'Commands per trigger', '/s'),
    suppressions: new TimeChart('chart-suppressions', 'Suppressions per outcome', '/s'),
    channels: new TimeChart('chart-channels', 'Commands per channel', '/s'),
  };
  const lift = h('div', { id: 'live-lift' });
  const segments = h('div', { id: 'live-segments' });
  const commands = h('div', { id: 'live-commands' });
  const decisions = h('div', { id: 'live-decisions' });

  view.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Live'), updated),
    section('now', 'Now', h('div', { class: 'tiles' }, Object.values(tiles).map((t) => t.el))),
    section('flow', 'Over time', h('div', { class: 'charts' }, Object.values(charts).map((c) => c.figure))),
    section('lift', 'Lift by trigger', h('p', { class: 'muted small' }, 'Treated people against the held-out control group; percentage points, with an interval that stays valid while you watch.'), lift),
    h(
      'div',
      { class: 'columns' },
      section('segments', 'Segment sizes', segments),
      section('recent-commands', 'Recent commands', commands),
    ),
    section('recent-decisions', 'Recent decisions that sent nothing', decisions),
  );

  /** @param {LiveSnapshot} live */
  const show = (live) => {
    const s = live.series;
    const last = s.times.length - 1;
    const bucket = `per second, last ${Math.round(live.bucketMs / 1000)} s`;
    tiles.in.value.textContent = `${fmtRate(s.touchpointsIn[last])}/s`;
    tiles.in.note.textContent = bucket;
    tiles.processed.value.textContent = `${fmtRate(s.touchpointsProcessed[last])}/s`;
    tiles.processed.note.textContent = bucket;
    const lag = live.lag.reduce((sum, l) => sum + l.lag, 0);
    tiles.lag.value.textContent = fmtInt(lag);
    tiles.lag.note.textContent = live.lag.length ? `records behind, ${live.lag.length} topic${live.lag.length === 1 ? '' : 's'}` : 'no topics read yet';
    tiles.lag.el.classList.toggle('attention', lag > 10_000);
    tiles.dead.value.textContent = `${fmtRate(s.deadLetters[last])}/s`;
    tiles.dead.note.textContent = `${fmtInt(live.totals.deadLetters)} since the console started`;
    tiles.dead.el.classList.toggle('attention', (s.deadLetters[last] ?? 0) > 0);
    const r = live.readiness;
    tiles.ready.value.textContent = r.ready ? 'Ready' : 'Not ready';
    tiles.ready.note.textContent = `${r.instances} instance${r.instances === 1 ? '' : 's'} · ${r.tasks} task${r.tasks === 1 ? '' : 's'} · ${r.restoring} restoring${r.waiting ? ` · ${r.waiting}` : ''}`;
    tiles.ready.el.classList.toggle('attention', !r.ready);

    charts.throughput.update(s.times, [
      { label: 'in', values: s.touchpointsIn },
      { label: 'processed', values: s.touchpointsProcessed },
    ]);
    charts.triggers.update(s.times, keyedSeries(s.commandsByTrigger));
    charts.suppressions.update(s.times, keyedSeries(s.suppressionsByOutcome, words));
    charts.channels.update(s.times, keyedSeries(s.commandsByChannel));

    refresh(lift, live.lift, () => liftTable(live.lift, 'Lift by trigger'));
    refresh(segments, live.segments, () => segmentBars(live.segments));
    refresh(commands, live.recent.commands.slice(0, RECENT_ROWS), () => commandsTable(live.recent.commands.slice(0, RECENT_ROWS), { caption: 'Recent commands' }));
    refresh(decisions, live.recent.decisions.slice(0, RECENT_ROWS), () => decisionsTable(live.recent.decisions.slice(0, RECENT_ROWS), { caption: 'Recent decisions that sent nothing' }));
    updated.textContent = `Updated ${fmtTime(live.at)} · ${fmtInt(live.totals.commands)} commands, ${fmtInt(live.totals.decisions)} decisions, ${fmtInt(live.totals.merges)} merges since the console started`;
  };

  const poll = async () => {
    try {
      /** @type {LiveSnapshot} */
      const live = await api('/api/console/live');
      if (stopped) return;
      clearAlert();
      show(live);
    } catch (error) {
      if (stopped) return;
      handleError(error);
      if (error instanceof ApiError && error.status === 401) return;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  poll();

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      for (const chart of Object.values(charts)) chart.destroy();
    },
  };
}

/** @param {{ name: string, size: number }[]} sizes */
function segmentBars(sizes) {
  if (sizes.length === 0) return h('p', { class: 'empty' }, 'No segment has members yet.');
  const sorted = [...sizes].sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
  const max = Math.max(1, ...sorted.map((s) => s.size));
  const list = h(
    'ol',
    { class: 'bars' },
    sorted.map((s) => {
      const fill = h('span', { class: 'bar-fill' });
      fill.style.width = `${((100 * Math.max(0, s.size)) / max).toFixed(1)}%`;
      return h('li', null, h('a', { class: 'bar-name', href: segmentPath(s.name), title: s.name }, words(s.name)), h('span', { class: 'bar', 'aria-hidden': 'true' }, fill), h('span', { class: 'bar-value' }, fmtInt(s.size)));
    }),
  );
  return list;
}

// --------------------------------------------------------------- profile page

/**
 * Loads one API answer into a view, showing errors in the page.
 * @template T
 * @param {HTMLElement} view @param {string} path @param {(data: T) => void} show
 * @returns {View}
 */
function loadOnce(view, path, show) {
  let stopped = false;
  view.append(h('p', { class: 'muted' }, 'Loading…'));
  api(path).then(
    (data) => {
      if (stopped) return;
      view.replaceChildren();
      show(/** @type {T} */ (data));
    },
    (error) => {
      if (stopped) return;
      view.replaceChildren();
      if (error instanceof ApiError && error.status === 404) {
        view.append(h('h1', null, 'Not found'));
        showAlert(error.message);
      } else handleError(error);
    },
  );
  return {
    stop() {
      stopped = true;
    },
  };
}

/** @param {HTMLElement} view @param {string} profileId @returns {View} */
function profileView(view, profileId) {
  document.title = `Profile ${profileId} · Listening Post console`;
  return loadOnce(view, `/api/console/profiles/${encodeURIComponent(profileId)}`, (/** @type {ConsoleProfile} */ p) => {
    view.append(
      h(
        'div',
        { class: 'page-head profile-head' },
        h('p', { class: 'eyebrow' }, 'Profile'),
        h('h1', null, h('span', { class: 'id' }, p.profileId), ' ', badge(p.known ? 'known' : 'anonymous', p.known ? 'ok' : 'plain')),
        h(
          'dl',
          { class: 'facts' },
          fact('First seen', timeEl(p.firstSeen)),
          fact('Last seen', timeEl(p.lastSeen)),
          fact('Time zone', p.timeZone ?? 'unknown'),
          fact('As of', timeEl(p.asOf)),
        ),
      ),
      h(
        'div',
        { class: 'profile-grid' },
        h(
          'div',
          { class: 'profile-main' },
          section('journey', 'Journey', journey(p.journey)),
          section('commands', 'Commands sent', commandList(p.commands)),
          section('decisions', 'Decisions that sent nothing', decisionList(p.decisions)),
        ),
        h(
          'div',
          { class: 'profile-side' },
          section('next', 'What the engine would do next', nextView(p)),
          section('scores', 'Scores', scores(p.scores)),
          section('segments', 'Segments', segmentList(p.segments)),
          section('consent', 'Consent', consent(p.consent)),
          section('channels', 'Channels', channels(p.channels)),
          section('identifiers', 'Identifiers', identifiers(p.identifiers)),
          section('merges', 'Merged profiles', merges(p.merges)),
        ),
      ),
    );
  });
}

/** @param {string} term @param {Node | string} value */
function fact(term, value) {
  return h('div', null, h('dt', null, term), h('dd', null, value));
}

/** @param {ConsoleProfile['journey']} entries */
function journey(entries) {
  if (entries.length === 0) return h('p', { class: 'empty' }, 'No touchpoints kept.');
  return h(
    'ol',
    { class: 'timeline', 'aria-label': 'Touchpoints, newest first' },
    entries.map((e) =>
      h(
        'li',
        { 'data-channel': e.channel },
        h('span', { class: 'timeline-dot', 'aria-hidden': 'true' }),
        h('div', { class: 'timeline-meta' }, timeEl(e.at), channelBadge(e.channel)),
        h(
          'div',
          { class: 'timeline-body' },
          h('span', { class: 'event-type' }, words(e.eventType)),
          e.category ? h('span', { class: 'muted' }, ` · ${e.category}`) : null,
          e.path ? h('span', { class: 'muted' }, ' · ', h('code', null, e.path)) : null,
        ),
        h('div', { class: 'small muted' }, 'event ', h('code', null, e.eventId)),
      ),
    ),
  );
}

/** @param {ConsoleTrace} trace */
function traceDetails(trace) {
  const scoreText = Object.entries(trace.scores)
    .map(([name, value]) => `${name} ${fmtNumber(value)}`)
    .join(', ');
  return h(
    'details',
    { class: 'trace' },
    h('summary', null, 'Full trace'),
    h(
      'dl',
      { class: 'trace-facts' },
      fact('Rule', h('code', null, trace.rule)),
      fact('Caused by', trace.causeEventIds.length ? h('span', null, trace.causeEventIds.map((id, i) => [i ? ', ' : '', h('code', null, id)]).flat()) : '—'),
      fact('Scores', scoreText || '—'),
      fact('Segments', trace.segments.length ? trace.segments.map(words).join(', ') : '—'),
    ),
    h('h4', null, 'Checks, in the order they ran'),
    h(
      'ol',
      { class: 'checks' },
      trace.checks.map((c) =>
        h(
          'li',
          { class: c.passed ? 'pass' : 'fail' },
          h('span', { class: 'check-mark', 'aria-hidden': 'true' }, c.passed ? '✓' : '✕'),
          h('span', { class: 'sr-only' }, c.passed ? 'passed: ' : 'failed: '),
          h('span', { class: 'check-name' }, c.check),
          c.detail ? h('span', { class: 'check-detail' }, c.detail) : null,
        ),
      ),
    ),
  );
}

/** @param {ConsoleCommand[]} commands */
function commandList(commands) {
  if (commands.length === 0) return h('p', { class: 'empty' }, 'Nothing sent to this person.');
  return h(
    'ul',
    { class: 'items' },
    commands.map((c) =>
      h(
        'li',
        { class: 'item', 'data-command': c.commandId },
        h('div', { class: 'item-line' }, timeEl(c.at), triggerLink(c.triggerId), channelBadge(c.channel), h('span', { class: 'action' }, words(c.action)), statusBadge(c.status)),
        c.expiresAt !== null ? h('p', { class: 'small muted' }, 'expires ', timeEl(c.expiresAt)) : null,
        c.trace ? traceDetails(c.trace) : h('p', { class: 'small muted' }, 'Trace no longer kept by the console.'),
      ),
    ),
  );
}

/** @param {ConsoleDecision[]} decisions */
function decisionList(decisions) {
  if (decisions.length === 0) return h('p', { class: 'empty' }, 'No decision held anything back.');
  return h(
    'ul',
    { class: 'items' },
    decisions.map((d) => {
      const failed = refusal(d.trace);
      return h(
        'li',
        { class: 'item', 'data-decision': d.decisionId },
        h('div', { class: 'item-line' }, timeEl(d.at), triggerLink(d.triggerId), badge(words(d.outcome), 'warn')),
        h(
          'p',
          { class: 'reason' },
          failed.length ? ['Not sent: ', ...refusalText(failed)] : `Not sent: ${words(d.outcome)}`,
        ),
        traceDetails(d.trace),
      );
    }),
  );
}

/** @param {ConsoleProfile} p */
function nextView(p) {
  const triggers = p.next.triggers.length
    ? h(
        'ul',
        { class: 'next' },
        p.next.triggers.map((t) => {
          const id = `progress-${t.triggerId}`;
          return h(
            'li',
            null,
            h('div', { class: 'item-line' }, triggerLink(t.triggerId), badge(t.kind)),
            h('p', { class: 'small' }, t.description),
            h(
              'div',
              { class: 'progress-line' },
              h('progress', { id, max: '1', value: String(Math.max(0, Math.min(1, t.progress))), 'aria-label': `${t.triggerId}: progress` }),
              h('span', { class: 'small' }, `${Math.round(t.progress * 100)} % · ${t.detail}`),
            ),
            t.until !== null ? h('p', { class: 'small muted' }, 'until ', timeEl(t.until)) : null,
            t.blockedBy ? h('p', { class: 'small blocked' }, `Blocked: ${t.blockedBy}`) : null,
          );
        }),
      )
    : h('p', { class: 'empty' }, 'No rule is on its way to firing.');
  const caps = p.next.caps.length
    ? h(
        'ul',
        { class: 'caps' },
        p.next.caps.map((c) => h('li', { class: c.left === 0 ? 'exhausted' : undefined }, h('span', { class: 'cap-scope' }, c.channel ?? 'All channels'), h('span', null, `${c.used} of ${c.max} per ${c.per} used, ${c.left} left`))),
      )
    : h('p', { class: 'empty' }, 'No fatigue caps.');
  return h('div', null, triggers, h('h3', null, 'Fatigue caps'), caps);
}

/** @param {ConsoleProfile['scores']} list */
function scores(list) {
  if (list.length === 0) return h('p', { class: 'empty' }, 'No scores.');
  return h(
    'ul',
    { class: 'scores' },
    list.map((s) => {
      const top = [...s.contributions].sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, 5);
      const max = Math.max(1e-9, ...top.map((c) => Math.abs(c.value)));
      return h(
        'li',
        { class: 'score', 'data-score': s.name },
        h('div', { class: 'score-head' }, h('h3', null, words(s.name)), h('span', { class: 'score-value' }, fmtNumber(s.value))),
        top.length
          ? h(
              'ul',
              { class: 'contributions', 'aria-label': `Top contributions to ${words(s.name)}` },
              top.map((c) => {
                const fill = h('span', { class: `bar-fill ${c.value < 0 ? 'negative' : ''}` });
                fill.style.width = `${((100 * Math.abs(c.value)) / max).toFixed(1)}%`;
                return h('li', null, h('span', { class: 'bar-name' }, words(c.signal)), h('span', { class: 'bar', 'aria-hidden': 'true' }, fill), h('span', { class: 'bar-value' }, `${c.value > 0 ? '+' : c.value < 0 ? '−' : ''}${fmtNumber(Math.abs(c.value))}`));
              }),
            )
          : null,
      );
    }),
  );
}

/** @param {ConsoleProfile['segments']} list */
function segmentList(list) {
  if (list.length === 0) return h('p', { class: 'empty' }, 'In no segment.');
  return h('ul', { class: 'plain-list' }, list.map((s) => h('li', null, h('span', { class: 'segment-name' }, words(s.name)), h('span', { class: 'small muted' }, ' since ', timeEl(s.since)))));
}

/** @param {ConsoleProfile['consent']} list */
function consent(list) {
  return table({
    caption: 'Consent per channel and purpose',
    captionHidden: true,
    columns: ['Channel', 'Purpose', 'Consent', 'Changed'],
    rows: list.map((c) => [channelBadge(c.channel), words(c.purpose), badge(c.granted ? 'granted' : 'refused', c.granted ? 'ok' : 'bad'), timeEl(c.at)]),
    empty: 'No consent recorded.',
  });
}

/** @param {ConsoleProfile['channels']} list */
function channels(list) {
  return table({
    caption: 'Channels the person used',
    captionHidden: true,
    columns: ['Channel', 'Touchpoints', 'Last', 'Session depth'],
    numeric: [1, 3],
    rows: list.map((c) => [channelBadge(c.channel), fmtInt(c.count), timeEl(c.lastAt), c.sessionDepth === null ? '—' : fmtInt(c.sessionDepth)]),
    empty: 'No channel yet.',
  });
}

/** @param {ConsoleProfile['identifiers']} list */
function identifiers(list) {
  if (list.length === 0) return h('p', { class: 'empty' }, 'No identifiers: an anonymous visitor.');
  return h(
    'div',
    null,
    h('p', { class: 'small muted' }, 'Hashes the engine stores, shortened; never the values.'),
    h(
      'dl',
      { class: 'identifiers' },
      list.map((i) => h('div', null, h('dt', null, words(i.type)), h('dd', null, i.hashes.map((hash, n) => [n ? ' ' : '', h('code', { class: 'hash' }, shortHash(hash))]).flat()))),
    ),
  );
}

/** @param {ConsoleProfile['merges']} list */
function merges(list) {
  if (list.length === 0) return h('p', { class: 'empty' }, 'No other profile became this one.');
  return h(
    'ul',
    { class: 'plain-list merges' },
    list.map((m) => h('li', null, profileLink(m.mergedProfileId), ' became this one ', timeEl(m.at), h('div', { class: 'small muted' }, 'on event ', h('code', null, m.eventId), m.detail ? ` · ${m.detail}` : ''))),
  );
}

// --------------------------------------------------------------- trigger page

/** @param {HTMLElement} view @param {string} triggerId @returns {View} */
function triggerView(view, triggerId) {
  document.title = `Trigger ${triggerId} · Listening Post console`;
  return loadOnce(view, `/api/console/triggers/${encodeURIComponent(triggerId)}`, (/** @type {TriggerActivity} */ t) => {
    const description = t.description ?? meta?.triggers.find((m) => m.id === t.triggerId)?.description ?? null;
    view.append(
      h('div', { class: 'page-head' }, h('p', { class: 'eyebrow' }, h('a', { href: '/console/' }, 'Live'), ' / Trigger'), h('h1', null, h('span', { class: 'id' }, t.triggerId)), description ? h('p', { class: 'muted' }, description) : null),
      section('lift', 'Lift', t.lift ? liftTable([t.lift], `Lift of ${t.triggerId}`) : h('p', { class: 'empty' }, 'No lift measured yet.')),
      section('trigger-commands', 'Recent commands', commandsTable(t.commands, { caption: `Recent commands of ${t.triggerId}`, showTrigger: false })),
      section('trigger-decisions', 'Recent decisions that sent nothing', decisionsTable(t.decisions, { caption: `Recent decisions of ${t.triggerId}`, showTrigger: false })),
    );
  });
}

/** @param {HTMLElement} view @param {string} name @returns {View} */
function segmentView(view, name) {
  document.title = `Segment ${name} · Listening Post console`;
  return loadOnce(view, `/api/console/segments/${encodeURIComponent(name)}`, (/** @type {SegmentActivity} */ s) => {
    view.append(
      h('div', { class: 'page-head' }, h('p', { class: 'eyebrow' }, h('a', { href: '/console/' }, 'Live'), ' / Segment'), h('h1', null, h('span', { class: 'id' }, s.name)), h('p', { class: 'muted' }, `${fmtInt(s.size)} people in it now`)),
      section(
        'segment-changes',
        'Latest entries and exits',
        table({
          caption: `Latest changes of ${s.name}`,
          captionHidden: true,
          columns: ['When', 'Profile', 'Change', 'Why'],
          rows: s.changes.map((c) => [timeEl(c.at), profileLink(c.profileId), badge(c.change, c.change === 'enter' ? 'ok' : 'plain'), words(c.reason)]),
          empty: 'No change read yet.',
        }),
      ),
    );
  });
}

// --------------------------------------------------------------------- start

async function start() {
  if (!token()) {
    render();
    return;
  }
  /** @type {unknown} */
  let failure = null;
  try {
    await loadMeta();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      handleError(error);
      return;
    }
    failure = error;
  }
  render();
  if (failure) showAlert(`The console could not read the engine's settings: ${failure instanceof Error ? failure.message : String(failure)}`);
}

takeTokenFromUrl();
wireLookup();
start();
