// infoscreen-fleet dashboard: a consumer of the REST API (docs/api.md). Standard DOM and fetch
// only; every value from the API is put on the page as text (textContent), never as HTML.
'use strict';

(function () {
  const TOKEN_KEY = 'infoscreen-fleet.api-token';
  const ROLE_RANK = { viewer: 1, operator: 2, admin: 3 };
  const STATE_ORDER = { crashed: 0, stale: 1, offline: 2, online: 3 };
  const STATE_ICON = { online: '✔', crashed: '✖', stale: '◔', offline: '○' };
  const COMMAND_ICON = {
    queued: '…', published: '↗', accepted: '✓', executing: '⟳', completed: '✔',
    failed: '✖', rejected: '✖', expired: '◌', cancelled: '⊘'
  };
  const ACTIONS = {
    restart_app: { label: 'Restart app', verb: 'Restart the app on', role: 'operator' },
    reboot_host: { label: 'Reboot host', verb: 'Reboot', role: 'operator' },
    shutdown_host: { label: 'Shut down host', verb: 'Shut down', role: 'operator', note: 'The display stays off until someone switches it on again.' },
    power_cycle: { label: 'Power cycle', verb: 'Cut the power of and restart', role: 'operator', note: 'The outlet is switched off and on again: unsaved state on the display is lost.' }
  };
  const BOOT_EVENTS = new Set(['reboot_detected', 'client_registered']);
  const TOKEN_MAX_CHARS = 512; // the server refuses longer tokens (TokenStore.MAX_TOKEN_CHARS)
  const MESSAGE_FADE_MS = 15000; // acknowledge messages go away after this

  const state = {
    refreshS: 15,
    timer: null,
    refreshing: false,
    serverOffsetMs: 0, // server time minus local time
    auth: { checked: false, enabled: null, name: null, role: null },
    clients: [],
    sort: { key: 'name', dir: 'ascending' },
    detailUuid: null,
    detail: null,
    commands: [],
    session: 0, // changes on sign-in and sign-out: answers to requests of an earlier session are dropped
    pending: null, // the command awaiting confirmation: {uuid, action, force}
    detailMissing: null, // the UUID the server answered 404 for: not requested again until reopened
    acking: new Set(), // UUIDs whose acknowledge request is on its way
    acked: new Map(), // UUID -> service_failed_at acknowledged: hidden even if an older answer still lists it
    lastUpdated: null
  };

  const $ = (id) => document.getElementById(id);

  // ---- HTTP -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body, retryAfter, signedOut) {
      super((body && body.message) || ('HTTP ' + status));
      this.signedOut = Boolean(signedOut); // the session ended with this answer (the sign-in form is shown)
      this.status = status;
      this.code = body && body.error;
      this.body = body || {};
      this.retryAfter = retryAfter;
    }
  }

  /** @return the stored token; a stored value that is not a valid token (an older page kept it) is forgotten */
  function token() {
    const t = sessionStorage.getItem(TOKEN_KEY);
    if (t !== null && checkToken(t).problem) {
      sessionStorage.removeItem(TOKEN_KEY);
      return null;
    }
    return t;
  }

  /**
   * Cleans what was typed or pasted into the token field: surrounding white space and a leading
   * "Bearer " go; what is left must be visible ASCII (an HTTP header cannot carry typographic
   * quotes or other characters) and at most TOKEN_MAX_CHARS long.
   * @return {token} or {problem: text for the sign-in form}
   */
  function checkToken(raw) {
    let v = String(raw).trim().replace(/^bearer\s+/i, '').trim();
    if (!v) {
      return { problem: 'Enter an API token.' };
    }
    if (v.length > TOKEN_MAX_CHARS) {
      return { problem: 'That is not an API token: it has ' + v.length + ' characters, a token at most ' + TOKEN_MAX_CHARS + '.' };
    }
    const bad = /[^\x21-\x7e]/.exec(v);
    if (bad) {
      return { problem: 'That is not an API token: it contains "' + bad[0] + '" (U+' + bad[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')
        + '), a token has letters, digits and ASCII punctuation only. Was a quote or space copied with it?' };
    }
    return { token: v };
  }

  async function api(method, path, body) {
    const t = token();
    const session = state.session;
    let headers;
    try {
      headers = new Headers({ Accept: 'application/json' });
      if (t) {
        headers.set('Authorization', 'Bearer ' + t);
      }
    } catch (e) {
      // the browser refuses the token as a header value: it can never be sent
      endSession('The token cannot be sent in an HTTP header. Enter a valid API token.');
      throw new ApiError(0, { error: 'invalid_token', message: 'the token cannot be sent' }, null, true);
    }
    const init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers.set('Content-Type', 'application/json');
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, { error: 'network', message: 'the service did not answer' });
    }
    let json = null;
    const text = await response.text();
    if (text) {
      try {
        json = JSON.parse(text);
      } catch (e) {
        json = null;
      }
    }
    if (!response.ok) {
      const retryAfter = parseInt(response.headers.get('Retry-After') || '', 10);
      const error = new ApiError(response.status, json, Number.isFinite(retryAfter) ? retryAfter : null,
        response.status === 401 || (response.status === 431 && Boolean(t)));
      if (session !== state.session) {
        // signed out or in meanwhile: an answer to the old token ends nothing
      } else if (response.status === 401) {
        // a refused token is forgotten: it is not sent again
        endSession(t ? 'The token was refused (' + (error.body.message || 'HTTP 401') + '). Enter a valid API token.'
          : 'This service requires an API token.');
      } else if (error.signedOut) {
        endSession('The server refused the request headers as too large (HTTP 431): the token cannot be right. Enter a valid API token.');
      }
      throw error;
    }
    return json;
  }

  // ---- authentication ---------------------------------------------------------------------

  async function checkAuth() {
    try {
      const me = await api('GET', '/api/whoami');
      // {"name", "role", "auth_enabled"}: with authentication off every action is allowed
      state.auth = me.auth_enabled === false ? { checked: true, enabled: false, name: null, role: null }
        : { checked: true, enabled: true, name: me.name, role: me.role };
      hideTokenPanel();
    } catch (e) {
      if (e.status === 404) {
        // this server has no authentication: every action is allowed
        state.auth = { checked: true, enabled: false, name: null, role: null };
        hideTokenPanel();
      } else if (e.status === 401) {
        state.auth = { checked: true, enabled: true, name: null, role: null };
      } else {
        showError('Could not check the sign-in: ' + describe(e));
      }
    }
    renderAuth();
  }

  function needToken(reason) {
    state.auth.name = null;
    state.auth.role = null;
    state.auth.enabled = true;
    $('token-reason').textContent = reason;
    const panel = $('token-panel');
    const wasHidden = panel.hidden;
    panel.hidden = false;
    renderAuth();
    if (wasHidden) {
      $('token-input').focus();
    }
  }

  function hideTokenPanel() {
    $('token-panel').hidden = true;
  }

  function renderAuth() {
    const box = $('auth-status');
    box.replaceChildren();
    if (state.auth.enabled === false) {
      box.append(text('span', 'REST authentication is off on this server', 'help'));
    } else if (state.auth.role) {
      box.append(text('span', 'Signed in as ' + state.auth.name + ' (' + state.auth.role + ')', 'who'));
      const out = document.createElement('button');
      out.type = 'button';
      out.id = 'sign-out';
      out.textContent = 'Sign out';
      out.addEventListener('click', signOut);
      box.append(' ', out);
    } else if (state.auth.enabled) {
      box.append(text('span', 'Not signed in', 'help'));
    }
    applyRole();
  }

  function signOut() {
    endSession('Signed out. Enter an API token to continue.');
  }

  /**
   * Ends the session (sign-out, a refused or unusable token): the token is forgotten, answers of
   * requests still on their way are dropped, nothing of the fleet stays on the page, and the
   * sign-in form tells why.
   */
  function endSession(reason) {
    state.session++;
    sessionStorage.removeItem(TOKEN_KEY);
    state.auth = { checked: true, enabled: true, name: null, role: null };
    clearViews();
    hideError();
    needToken(reason);
  }

  /** removes every fleet value from the page (after signing out nothing of the last session stays visible) */
  function clearViews() {
    state.clients = [];
    state.lastUpdated = null;
    document.querySelectorAll('[data-count]').forEach((el) => { el.textContent = '–'; });
    $('recovery-status').textContent = '';
    renderServiceFailed([]);
    renderCrashed([]);
    renderFleet();
    $('detail').hidden = true;
    clearDetail();
    showAckMessage('');
    renderRefreshStatus();
  }

  /** empties the client detail and hides its data and buttons (before a display is loaded, or when it cannot be) */
  function clearDetail() {
    state.detail = null;
    state.commands = [];
    $('detail-body').hidden = true;
    $('detail-error').textContent = '';
    $('detail-health').replaceChildren();
    $('commands-table').tBodies[0].replaceChildren();
    $('detail-boots').replaceChildren();
    $('detail-events').replaceChildren();
    $('command-message').textContent = '';
  }

  /** @return true when the signed-in role (or a server without authentication) allows `needed` */
  function allowed(needed) {
    if (state.auth.enabled === false) {
      return true;
    }
    if (!state.auth.role) {
      return false;
    }
    return (ROLE_RANK[state.auth.role] || 0) >= ROLE_RANK[needed];
  }

  function roleNote(needed) {
    if (state.auth.role) {
      return 'Needs the ' + needed + ' role; you are signed in as ' + state.auth.role + '.';
    }
    return 'Sign in with a token of the ' + needed + ' role to use this.';
  }

  function applyRole() {
    document.querySelectorAll('#detail-actions button[data-action]').forEach((b) => {
      const needed = ACTIONS[b.dataset.action].role;
      b.disabled = !allowed(needed);
      b.title = b.disabled ? roleNote(needed) : '';
    });
    const note = $('role-note');
    note.hidden = allowed('operator');
    note.textContent = note.hidden ? '' : roleNote('operator') + ' Commands and acknowledgements are disabled.';
    document.querySelectorAll('button.ack, button.cancel-command').forEach((b) => {
      b.disabled = !allowed('operator') || b.dataset.busy === 'true';
      b.title = b.disabled ? roleNote('operator') : '';
    });
  }

  // ---- refresh ----------------------------------------------------------------------------

  /** reads the page's settings (assets/config.json); @return true when the refresh interval changed */
  async function loadConfig() {
    try {
      const response = await fetch('assets/config.json', { cache: 'no-store' });
      const config = await response.json();
      if (Number.isFinite(config.refresh_interval_s) && config.refresh_interval_s >= 1
        && config.refresh_interval_s !== state.refreshS) {
        state.refreshS = config.refresh_interval_s;
        return true;
      }
    } catch (e) {
      // keep the interval
    }
    return false;
  }

  function schedule() {
    clearInterval(state.timer);
    state.timer = setInterval(refresh, state.refreshS * 1000);
  }

  async function refresh() {
    if (state.refreshing) {
      return;
    }
    // not signed in: ask the server who we are once there is a token (or for the first time)
    if (!state.auth.checked || (state.auth.enabled && !state.auth.role && token())) {
      await checkAuth();
    }
    if (state.auth.enabled && !state.auth.role) {
      renderRefreshStatus();
      return;
    }
    state.refreshing = true;
    const session = state.session;
    try {
      const [overview, failed, crashed, me] = await Promise.all([
        api('GET', '/api/monitoring/overview'),
        api('GET', '/api/clients/service_failed'),
        api('GET', '/api/clients/crashed'),
        // the role is checked again each time: a token changed on the server takes effect here too
        state.auth.enabled ? api('GET', '/api/whoami') : Promise.resolve(null)
      ]);
      if (session !== state.session) {
        return;
      }
      if (me && (me.name !== state.auth.name || me.role !== state.auth.role)) {
        state.auth.name = me.name;
        state.auth.role = me.role;
        renderAuth();
      }
      state.serverOffsetMs = Date.parse(overview.generated_at) - Date.now();
      state.clients = overview.clients;
      renderCounts(overview);
      keepFocus($('service-failed-list'), () => renderServiceFailed(failed.clients));
      keepFocus($('crashed-table'), () => renderCrashed(crashed.clients));
      keepFocus($('fleet-table'), renderFleet);
      if (state.detailUuid && state.detailMissing !== state.detailUuid) {
        await loadDetail(state.detailUuid);
      }
      state.lastUpdated = new Date();
      hideError();
      // DASHBOARD_REFRESH_S changed (the service was restarted with another value): follow it without a reload
      if (await loadConfig()) {
        schedule();
      }
    } catch (e) {
      if (!e.signedOut && session === state.session) {
        showError('Could not refresh: ' + describe(e) + '. Showing the last data; next try in ' + state.refreshS + ' s.');
      }
    } finally {
      state.refreshing = false;
      renderRefreshStatus();
      document.body.dataset.refreshed = String((parseInt(document.body.dataset.refreshed || '0', 10)) + 1);
    }
  }

  function renderRefreshStatus() {
    const status = $('refresh-status');
    if (state.auth.enabled && !state.auth.role) {
      status.textContent = 'Waiting for sign-in';
    } else if (state.lastUpdated) {
      status.textContent = 'Updated ' + clock(state.lastUpdated.toISOString()) + ' · refreshes every ' + state.refreshS + ' s';
    } else {
      status.textContent = 'Refreshes every ' + state.refreshS + ' s';
    }
  }

  function showError(message) {
    const banner = $('error-banner');
    setText(banner, message);
    banner.hidden = false;
  }

  /** changes a live region's text only when it differs, so screen readers do not repeat it every refresh */
  function setText(el, value) {
    if (el.textContent !== value) {
      el.textContent = value;
    }
  }

  function hideError() {
    $('error-banner').hidden = true;
    $('error-banner').textContent = '';
  }

  // ---- overview ---------------------------------------------------------------------------

  function renderCounts(overview) {
    for (const key of ['total', 'online', 'crashed', 'stale', 'offline']) {
      document.querySelector('[data-count="' + key + '"]').textContent = String(overview.counts[key] ?? 0);
    }
    const r = overview.recovery || {};
    const line = $('recovery-status');
    if (!r.enabled) {
      line.textContent = 'Crash auto-recovery: off';
    } else if (r.paused) {
      line.textContent = '⚠ Crash auto-recovery is paused by the fleet circuit breaker since ' + stamp(r.paused_since)
        + ' (many displays went silent at once: a network or broker outage?)';
    } else {
      line.textContent = 'Crash auto-recovery: on';
    }
    line.classList.toggle('warning', Boolean(r.enabled && r.paused));
  }

  /**
   * Shows the failed services, one entry per display keyed by its UUID. Entries acknowledged
   * meanwhile are left out even when this answer was generated before the acknowledgement.
   */
  function renderServiceFailed(clients) {
    const listed = new Set(clients.map((c) => c.uuid));
    for (const uuid of state.acked.keys()) {
      if (!listed.has(uuid)) {
        state.acked.delete(uuid); // the server has it cleared too
      }
    }
    const shown = clients.filter((c) => state.acked.get(c.uuid) !== c.service_failed_at);
    reconcile($('service-failed-list'), shown, (c) => c.uuid, (c) => JSON.stringify([c, state.acking.has(c.uuid)]), (c) => {
      const li = document.createElement('li');
      li.dataset.uuid = c.uuid;
      const what = document.createElement('span');
      what.className = 'alert-what';
      what.append(clientLink(c), shortUuid(c), ': ', text('strong', c.service_failed_unit || 'a unit'), ' failed ');
      what.append(relative(c.service_failed_at), ' ', text('span', '(' + stamp(c.service_failed_at) + ')', 'help'));
      const ack = document.createElement('button');
      ack.type = 'button';
      ack.className = 'ack';
      ack.textContent = state.acking.has(c.uuid) ? 'Acknowledging…' : 'Acknowledge';
      ack.dataset.busy = String(state.acking.has(c.uuid));
      ack.setAttribute('aria-label', 'Acknowledge ' + (c.service_failed_unit || 'failure') + ' on ' + name(c));
      ack.addEventListener('click', () => acknowledge(c));
      li.append(what, ' ', ack);
      return li;
    });
    updateServiceFailedCount();
    applyRole();
  }

  function updateServiceFailedCount() {
    const n = $('service-failed-list').children.length;
    $('service-failed-panel').hidden = n === 0;
    $('service-failed-count').textContent = String(n);
  }

  /**
   * Acknowledges one display's failed service (clear_service_failed). Works by UUID, not by the
   * button clicked: a refresh may rebuild the list while the request is on its way.
   */
  async function acknowledge(c) {
    if (state.acking.has(c.uuid)) {
      return;
    }
    const session = state.session;
    const entrySelector = '#service-failed-list li[data-uuid="' + c.uuid + '"]';
    const setBusy = (busy) => {
      const button = document.querySelector(entrySelector + ' button.ack');
      if (button) {
        button.textContent = busy ? 'Acknowledging…' : 'Acknowledge';
        button.dataset.busy = String(busy);
      }
      applyRole();
    };
    state.acking.add(c.uuid);
    setBusy(true);
    let failure = null;
    try {
      await api('POST', '/api/clients/' + encodeURIComponent(c.uuid) + '/clear_service_failed');
    } catch (e) {
      failure = e;
    }
    state.acking.delete(c.uuid);
    if (session !== state.session) {
      return;
    }
    if (failure) {
      setBusy(false);
      showAckMessage(failure.signedOut ? '' : '✖ Not acknowledged: ' + describe(failure), 'problem');
      return;
    }
    state.acked.set(c.uuid, c.service_failed_at);
    showAckMessage('✔ Acknowledged ' + (c.service_failed_unit || 'the failure') + ' on ' + name(c) + '.', 'ok');
    const entry = document.querySelector(entrySelector);
    if (entry) {
      const next = entry.nextElementSibling || entry.previousElementSibling;
      const hadFocus = entry.contains(document.activeElement);
      entry.remove();
      if (hadFocus) {
        (next ? next.querySelector('button.ack') : $('fleet-title')).focus();
      }
    }
    updateServiceFailedCount();
    refresh();
  }

  /** the acknowledge outcome, which goes away after MESSAGE_FADE_MS */
  function showAckMessage(value, kind) {
    const message = $('ack-message');
    clearTimeout(state.ackFade);
    message.textContent = value;
    message.className = 'inline-message' + (kind ? ' ' + kind : '');
    if (value) {
      state.ackFade = setTimeout(() => {
        message.textContent = '';
      }, MESSAGE_FADE_MS);
    }
  }

  function renderCrashed(clients) {
    $('crashed-panel').hidden = clients.length === 0;
    $('crashed-count').textContent = String(clients.length);
    // the downtime counts on by itself (tick): a changed downtime_s alone does not rebuild the row
    reconcile($('crashed-table').tBodies[0], clients, (c) => c.uuid, (c) => JSON.stringify(Object.assign({}, c, { downtime_s: null })), (c) => {
      const tr = document.createElement('tr');
      tr.dataset.uuid = c.uuid;
      const since = c.down_since || c.liveness_since;
      const display = document.createElement('span');
      display.append(clientLink(c), shortUuid(c));
      tr.append(cell(display), cell(stateBadge(c.liveness_state)), cell(text('span', stamp(since))),
        cell(downtime(since, c.downtime_s)), cell(text('span', c.process_status || '–')),
        cell(text('span', c.recovery_state === 'exhausted' ? '⚠ budget spent: needs a person' : (c.recovery_state || '–'))));
      return tr;
    });
  }

  function renderFleet() {
    const filterText = $('filter-text').value.trim().toLowerCase();
    const filterState = $('filter-state').value;
    const rows = state.clients.filter((c) => {
      if (filterState && c.liveness_state !== filterState) {
        return false;
      }
      if (!filterText) {
        return true;
      }
      return [c.hostname, c.uuid, c.app_version, c.process_status, c.liveness_state]
        .some((v) => v && String(v).toLowerCase().includes(filterText));
    });
    rows.sort(comparator(state.sort.key, state.sort.dir));
    reconcile($('fleet-table').tBodies[0], rows, (c) => c.uuid, (c) => JSON.stringify([c, c.uuid === state.detailUuid]), (c) => {
      const tr = document.createElement('tr');
      tr.dataset.uuid = c.uuid;
      if (c.uuid === state.detailUuid) {
        tr.classList.add('selected');
      }
      const display = document.createElement('span');
      display.append(clientLink(c));
      if (c.hostname) {
        display.append(text('span', c.uuid, 'uuid'));
      }
      if (c.service_failed_at) {
        display.append(text('span', '⚠ ' + (c.service_failed_unit || 'unit') + ' failed', 'flag flag-service-failed'));
      }
      tr.append(cell(display), cell(stateBadge(c.liveness_state)), cell(relative(c.last_alive_at)),
        cell(text('span', c.process_status || '–')), cell(text('span', c.app_version || '–')),
        cell(text('span', c.mqtt_reconnect_count == null ? '–' : String(c.mqtt_reconnect_count))));
      return tr;
    });
    $('fleet-empty').hidden = state.clients.length > 0;
    setText($('fleet-shown'), 'Showing ' + rows.length + ' of ' + state.clients.length + ' displays');
  }

  function comparator(key, dir) {
    const sign = dir === 'descending' ? -1 : 1;
    const value = {
      name: (c) => (c.hostname || '\uffff' + c.uuid).toLowerCase(),
      state: (c) => STATE_ORDER[c.liveness_state] ?? 9,
      last_alive: (c) => (c.last_alive_at ? Date.parse(c.last_alive_at) : -Infinity),
      process: (c) => c.process_status || '\uffff',
      version: (c) => c.app_version || '\uffff',
      reconnects: (c) => c.mqtt_reconnect_count ?? -1
    }[key];
    const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
    return (a, b) => {
      const x = value(a);
      const y = value(b);
      let r = typeof x === 'string' ? collator.compare(x, y) : (x < y ? -1 : x > y ? 1 : 0);
      if (r === 0) {
        r = collator.compare(a.uuid, b.uuid);
      }
      return r * sign;
    };
  }

  function setupSorting() {
    document.querySelectorAll('#fleet-table th[data-sort] button').forEach((button) => {
      button.addEventListener('click', () => {
        const th = button.parentElement;
        const key = th.dataset.sort;
        const dir = state.sort.key === key && state.sort.dir === 'ascending' ? 'descending' : 'ascending';
        state.sort = { key: key, dir: dir };
        document.querySelectorAll('#fleet-table th[data-sort]').forEach((other) => {
          other.setAttribute('aria-sort', other === th ? dir : 'none');
        });
        renderFleet();
      });
    });
  }

  // ---- detail -----------------------------------------------------------------------------

  function openFromHash() {
    const m = /^#client=([0-9a-fA-F-]{36})$/.exec(location.hash);
    const uuid = m ? m[1].toLowerCase() : null;
    if (uuid === state.detailUuid) {
      return;
    }
    state.detailUuid = uuid;
    state.detailMissing = null;
    clearDetail();
    if (!uuid) {
      $('detail').hidden = true;
      renderFleet();
      return;
    }
    $('detail').hidden = false;
    $('detail-title').textContent = 'Display ' + uuid;
    $('detail-title').focus();
    renderFleet();
    if (state.auth.checked && (state.auth.enabled === false || state.auth.role)) {
      loadDetail(uuid);
    }
  }

  async function loadDetail(uuid) {
    const base = '/api/clients/' + encodeURIComponent(uuid);
    const session = state.session;
    try {
      const [client, commands, events] = await Promise.all([
        api('GET', base),
        api('GET', base + '/commands?limit=20'),
        api('GET', base + '/events?limit=100')
      ]);
      if (uuid !== state.detailUuid || session !== state.session) {
        return;
      }
      state.detail = client;
      $('detail-error').textContent = '';
      renderDetail(client, commands.commands, events.events);
    } catch (e) {
      if (uuid !== state.detailUuid || session !== state.session || e.signedOut) {
        return;
      }
      if (e.status === 404) {
        // not asked again on each refresh; opening the display again (or Refresh now) retries
        clearDetail();
        state.detailMissing = uuid;
        $('detail-error').textContent = e.code === 'client_not_found' ? 'No display with UUID ' + uuid + '.'
          : 'Could not load the display: ' + describe(e);
      } else if (state.detail && state.detail.uuid === uuid) {
        // a failed refresh of the display on show: its last data stays, marked as such
        $('detail-error').textContent = 'Could not refresh the display: ' + describe(e) + '. Showing the data of '
          + clock(state.lastUpdated ? state.lastUpdated.toISOString() : null) + '.';
      } else {
        clearDetail();
        $('detail-error').textContent = 'Could not load the display: ' + describe(e) + '. Next try with the next refresh.';
      }
    }
  }

  function renderDetail(c, commands, events) {
    $('detail').hidden = false;
    $('detail-body').hidden = false;
    $('detail-title').textContent = name(c);
    const h = c.health || {};
    const bc = h.broker_connection || {};
    const sys = h.system || {};
    const facts = $('detail-health');
    facts.replaceChildren();
    const fact = (label, value, key) => {
      const dt = text('dt', label);
      const dd = document.createElement('dd');
      if (key) {
        dd.dataset.field = key;
      }
      dd.append(value instanceof Node ? value : text('span', value == null || value === '' ? '–' : String(value)));
      facts.append(dt, dd);
    };
    fact('UUID', c.uuid, 'uuid');
    fact('State', stateBadge(c.liveness_state), 'liveness_state');
    fact('State since', stamp(c.liveness_since), 'liveness_since');
    fact('Last alive', relativeWithStamp(c.last_alive_at), 'last_alive_at');
    fact('Last health report', relativeWithStamp(c.last_health_at), 'last_health_at');
    fact('Process', c.process_status, 'process_status');
    fact('App version', c.app_version, 'app_version');
    fact('IP address', c.ip, 'ip');
    fact('Connection (last will)', c.connection_state ? c.connection_state + ' since ' + stamp(c.connection_state_since) : null, 'connection_state');
    fact('MQTT reconnects', c.mqtt_reconnect_count, 'mqtt_reconnect_count');
    fact('Last MQTT disconnect', c.mqtt_last_disconnect_at ? relativeWithStamp(c.mqtt_last_disconnect_at) : 'never', 'mqtt_last_disconnect_at');
    fact('Connected since', bc.connected_since ? stamp(bc.connected_since) : null, 'connected_since');
    fact('Boot id', c.boot_id, 'boot_id');
    fact('Uptime', typeof sys.uptime_s === 'number' && Number.isFinite(sys.uptime_s) ? duration(sys.uptime_s) : null, 'uptime');
    fact('CPU temperature', sys.cpu_temp_c != null ? sys.cpu_temp_c + ' °C' : null, 'cpu_temp');
    fact('Load (1 min)', sys.load_avg_1m, 'load');
    fact('Failed service', c.service_failed_at ? '⚠ ' + (c.service_failed_unit || 'unit') + ' at ' + stamp(c.service_failed_at) : 'none', 'service_failed');
    fact('Auto-recovery', c.recovery_state === 'exhausted' ? '⚠ budget spent since ' + stamp(c.recovery_state_since) : c.recovery_state, 'recovery_state');
    fact('Power target', c.has_power_target ? 'yes' : 'none', 'has_power_target');

    $('detail-actions').querySelector('[data-action="power_cycle"]').hidden = !c.has_power_target;
    keepFocus($('commands-table'), () => renderCommands(commands));
    renderEvents($('detail-boots'), events.filter((e) => BOOT_EVENTS.has(e.type)), 'No reboot seen yet.');
    renderEvents($('detail-events'), events, 'No events yet.');
    applyRole();
  }

  function renderCommands(commands) {
    state.commands = commands;
    const body = $('commands-table').tBodies[0];
    body.replaceChildren();
    for (const cmd of commands) {
      const tr = document.createElement('tr');
      tr.dataset.commandId = cmd.id;
      const status = text('span', (COMMAND_ICON[cmd.status] || '') + ' ' + cmd.status, 'status status-' + cmd.status);
      status.dataset.status = cmd.status;
      let cancel = text('span', '');
      if (cmd.status === 'queued' || cmd.status === 'published') {
        cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'cancel-command';
        cancel.textContent = 'Cancel';
        cancel.setAttribute('aria-label', 'Cancel ' + actionLabel(cmd.action) + ' of ' + stamp(cmd.created_at));
        cancel.addEventListener('click', () => cancelCommand(cmd, cancel));
      }
      const by = cmd.requested_by + (cmd.origin === 'crash_recovery' ? ' (auto-recovery)' : '') + (cmd.forced ? ', forced' : '');
      const statusCell = cell(status);
      statusCell.append(' ', cancel);
      tr.append(cell(relativeWithStamp(cmd.created_at)), cell(text('span', actionLabel(cmd.action), 'action')), statusCell,
        cell(text('span', by)), cell(text('span', cmd.detail || (cmd.reason ? 'reason: ' + cmd.reason : '–'))));
      body.append(tr);
    }
    $('commands-empty').hidden = commands.length > 0;
  }

  function renderEvents(list, events, emptyText) {
    list.replaceChildren();
    if (events.length === 0) {
      list.append(text('li', emptyText, 'help'));
    }
    for (const e of events) {
      const li = document.createElement('li');
      li.dataset.type = e.type;
      li.append(text('time', stamp(e.occurred_at)), ' ', text('strong', e.type.replace(/_/g, ' ')));
      const d = summary(e.detail);
      if (d) {
        li.append(' ', text('span', d, 'help'));
      }
      list.append(li);
    }
  }

  function summary(detail) {
    if (!detail || typeof detail !== 'object') {
      return '';
    }
    return Object.entries(detail).map(([k, v]) => {
      if (k === 'downtime_s' && typeof v === 'number') {
        return 'downtime ' + duration(v);
      }
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) {
        return k.replace(/_/g, ' ') + ': ' + stamp(v);
      }
      return k.replace(/_/g, ' ') + ': ' + (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));
    }).join(' · ');
  }

  // ---- commands ---------------------------------------------------------------------------

  function askToConfirm(action, force) {
    if (!state.detail) {
      return;
    }
    const meta = ACTIONS[action];
    state.pending = { uuid: state.detail.uuid, action: action };
    $('confirm-title').textContent = meta.label + '?';
    $('confirm-text').textContent = meta.verb + ' ' + name(state.detail) + ' (' + state.detail.uuid + ')?'
      + (meta.note ? ' ' + meta.note : '');
    $('confirm-reason').value = '';
    $('confirm-force').checked = Boolean(force);
    document.querySelector('label[for="confirm-force"]').textContent = action === 'power_cycle'
      ? 'Override (force): ignore the lockout and that the display is online' : 'Override the lockout (force)';
    $('confirm-ok').textContent = meta.label;
    $('confirm-dialog').showModal();
    $('confirm-reason').focus();
  }

  async function sendPending() {
    const p = state.pending;
    state.pending = null;
    $('confirm-dialog').close();
    if (!p) {
      return;
    }
    const force = $('confirm-force').checked;
    const reason = $('confirm-reason').value.trim();
    const message = $('command-message');
    message.replaceChildren(text('span', 'Sending ' + actionLabel(p.action) + '…'));
    message.className = 'inline-message';
    const base = '/api/clients/' + encodeURIComponent(p.uuid);
    try {
      let cmd;
      if (p.action === 'power_cycle') {
        cmd = await api('POST', base + '/power_cycle', reason || force ? body(reason, force) : undefined);
      } else {
        cmd = await api('POST', base + '/commands', Object.assign({ action: p.action }, body(reason, force)));
      }
      message.replaceChildren(text('span', '✔ ' + actionLabel(p.action) + ' sent (status ' + cmd.status + ').'));
      message.className = 'inline-message ok';
    } catch (e) {
      message.className = 'inline-message problem';
      if (e.status === 409 && e.code === 'lockout') {
        showLockout(message, p, e);
      } else if (e.status === 409 && e.code === 'client_online') {
        message.replaceChildren(text('span', '✖ Not sent: ' + name(state.detail) + ' is online (it answers over MQTT). '
          + 'A power cycle is for a display that no longer responds: try Restart app or Reboot host first, '
          + 'or confirm again with "Override" checked to cut the power anyway.'));
      } else if (e.status === 409 && e.code === 'power_target_protected') {
        message.replaceChildren(text('span', '✖ Not sent: the outlet of ' + name(state.detail)
          + ' is marked protected (it powers more than this display); switch it by hand. ' + (e.body.message || '')));
      } else if (e.status === 403) {
        message.replaceChildren(text('span', '✖ Not sent: your role may not do this (403). ' + (e.body.message || '')));
      } else {
        message.replaceChildren(text('span', '✖ Not sent: ' + describe(e)));
      }
    }
    if (state.detailUuid === p.uuid) {
      await loadDetail(p.uuid);
    }
  }

  function body(reason, force) {
    const b = {};
    if (reason) {
      b.reason = reason;
    }
    if (force) {
      b.force = true;
    }
    return b;
  }

  function showLockout(message, p, e) {
    const seconds = e.retryAfter ?? e.body.retry_after_s;
    const until = seconds != null ? new Date(Date.now() + state.serverOffsetMs + seconds * 1000).toISOString() : null;
    const holder = state.commands.find((c) => c.id === e.body.command_id);
    const line = document.createElement('span');
    line.className = 'lockout';
    line.textContent = '✖ Not sent: ' + name(state.detail) + ' is in its lockout. Another restart, reboot, shutdown or power cycle '
      + 'was issued for it a short while ago' + (holder ? ' (' + actionLabel(holder.action) + ' at ' + stamp(holder.created_at) + ')' : '')
      + ', and a new one is refused so the display gets time to come back'
      + (seconds != null ? '. You can try again in ' + duration(seconds) + ' (after ' + stamp(until) + ').' : '.');
    const override = document.createElement('button');
    override.type = 'button';
    override.textContent = 'Override the lockout…';
    override.disabled = !allowed(ACTIONS[p.action].role);
    override.addEventListener('click', () => askToConfirm(p.action, true));
    message.replaceChildren(line, ' ', override);
  }

  async function cancelCommand(cmd, button) {
    button.disabled = true;
    const message = $('command-message');
    try {
      await api('POST', '/api/commands/' + encodeURIComponent(cmd.id) + '/cancel');
      message.className = 'inline-message ok';
      message.replaceChildren(text('span', '✔ ' + actionLabel(cmd.action) + ' cancelled.'));
    } catch (e) {
      message.className = 'inline-message problem';
      message.replaceChildren(text('span', '✖ Not cancelled: ' + describe(e)));
    }
    if (state.detailUuid) {
      await loadDetail(state.detailUuid);
    }
  }

  /**
   * Runs `render`, which rebuilds the rows of `container`; when the keyboard focus was on a link
   * or button in a row, it is put back on the same control of the same row afterwards, so a
   * refresh never throws a keyboard user out of a list.
   */
  function keepFocus(container, render) {
    const active = document.activeElement;
    const row = active && container.contains(active) ? active.closest('[data-uuid], [data-command-id]') : null;
    if (!row) {
      render();
      return;
    }
    const key = row.dataset.uuid ? '[data-uuid="' + row.dataset.uuid + '"]' : '[data-command-id="' + row.dataset.commandId + '"]';
    const control = active.classList.contains('client-link') ? 'a.client-link' : active.tagName.toLowerCase() + '.' + active.className.split(' ')[0];
    render();
    const again = container.querySelector(key + ' ' + control);
    if (again) {
      again.focus();
    }
  }

  /**
   * Puts one element per item into `parent`, in the items' order, keyed by `key(item)`: the
   * element of an item whose `signature` is unchanged is kept (the same node, so keyboard focus, a
   * click on its way and element references survive a refresh); a new or changed item gets a new
   * element from `build`; elements of items no longer listed are removed.
   */
  function reconcile(parent, items, key, signature, build) {
    const old = new Map();
    for (const el of parent.children) {
      if (el.dataset.key !== undefined) {
        old.set(el.dataset.key, el);
      }
    }
    let cursor = parent.firstElementChild;
    for (const item of items) {
      const k = String(key(item));
      const sig = signature(item);
      let el = old.get(k);
      if (!el || el.dataset.sig !== sig) {
        el = build(item);
        el.dataset.key = k;
        el.dataset.sig = sig;
      }
      old.delete(k);
      if (el === cursor) {
        cursor = cursor.nextElementSibling;
      } else {
        parent.insertBefore(el, cursor);
      }
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
  }

  // ---- formatting -------------------------------------------------------------------------

  function text(tag, value, className) {
    const el = document.createElement(tag);
    el.textContent = value == null ? '' : String(value);
    if (className) {
      el.className = className;
    }
    return el;
  }

  function cell(content) {
    const td = document.createElement('td');
    td.append(content);
    return td;
  }

  function name(c) {
    return c.hostname || c.uuid;
  }

  /** the first block of the UUID next to a host name (the full one in its title); nothing without a host name */
  function shortUuid(c) {
    if (!c.hostname) {
      return '';
    }
    const span = text('span', ' (' + String(c.uuid).slice(0, 8) + ')', 'uuid-short');
    span.title = c.uuid;
    return span;
  }

  function actionLabel(action) {
    return ACTIONS[action] ? ACTIONS[action].label : action;
  }

  function clientLink(c) {
    const a = document.createElement('a');
    a.href = '#client=' + c.uuid;
    a.textContent = name(c);
    a.className = 'client-link';
    return a;
  }

  function stateBadge(s) {
    const span = text('span', (STATE_ICON[s] || '?') + ' ' + (s || 'unknown'), 'state state-' + (s || 'unknown'));
    span.dataset.state = s || '';
    return span;
  }

  function stamp(iso) {
    if (!iso) {
      return '–';
    }
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) {
      return String(iso);
    }
    return d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  }

  function clock(iso) {
    return stamp(iso).slice(11);
  }

  function duration(seconds) {
    let s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (d > 0) {
      return d + ' d ' + h + ' h';
    }
    if (h > 0) {
      return h + ' h ' + m + ' min';
    }
    if (m > 0) {
      return m + ' min ' + s + ' s';
    }
    return s + ' s';
  }

  function nowServer() {
    return Date.now() + state.serverOffsetMs;
  }

  function ago(iso) {
    const seconds = (nowServer() - Date.parse(iso)) / 1000;
    if (seconds < 5) {
      return 'just now';
    }
    return duration(seconds) + ' ago';
  }

  /** a <time> whose text ("3 min 4 s ago") the ticker keeps current */
  function relative(iso) {
    const t = document.createElement('time');
    if (!iso) {
      t.textContent = 'never';
      return t;
    }
    t.dateTime = iso;
    t.title = stamp(iso);
    t.dataset.relative = iso;
    t.textContent = ago(iso);
    return t;
  }

  function relativeWithStamp(iso) {
    if (!iso) {
      return text('span', '–');
    }
    const span = document.createElement('span');
    span.append(relative(iso), ' ', text('span', '(' + stamp(iso) + ')', 'help'));
    return span;
  }

  function downtime(since, downtimeS) {
    const t = text('span', duration(downtimeS || 0), 'downtime');
    if (since) {
      t.dataset.since = since;
    }
    return t;
  }

  function tick() {
    document.querySelectorAll('time[data-relative]').forEach((t) => {
      t.textContent = ago(t.dataset.relative);
    });
    document.querySelectorAll('.downtime[data-since]').forEach((t) => {
      t.textContent = duration((nowServer() - Date.parse(t.dataset.since)) / 1000);
    });
  }

  function describe(e) {
    if (e.status === 0) {
      return 'the service did not answer (network error)';
    }
    return 'HTTP ' + e.status + (e.code ? ' ' + e.code : '') + (e.body && e.body.message ? ' — ' + e.body.message : '');
  }

  // ---- start ------------------------------------------------------------------------------

  function setup() {
    $('token-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const checked = checkToken($('token-input').value);
      if (checked.problem) {
        $('token-reason').textContent = checked.problem;
        $('token-input').focus();
        return;
      }
      state.session++;
      sessionStorage.setItem(TOKEN_KEY, checked.token);
      $('token-input').value = '';
      state.auth.checked = false;
      await refresh();
    });
    $('refresh-now').addEventListener('click', () => {
      state.detailMissing = null; // a display not found before is asked for again
      refresh();
    });
    $('filter-text').addEventListener('input', renderFleet);
    $('filter-state').addEventListener('change', renderFleet);
    $('detail-close').addEventListener('click', () => {
      const uuid = state.detailUuid;
      history.pushState(null, '', location.pathname + location.search);
      openFromHash();
      const link = document.querySelector('#fleet-table tr[data-uuid="' + uuid + '"] a');
      (link || $('fleet-title')).focus();
    });
    document.querySelectorAll('#detail-actions button[data-action]').forEach((b) => {
      b.addEventListener('click', () => askToConfirm(b.dataset.action, false));
    });
    $('confirm-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      sendPending();
    });
    $('confirm-cancel').addEventListener('click', () => {
      state.pending = null;
      $('confirm-dialog').close();
    });
    $('confirm-dialog').addEventListener('close', () => {
      state.pending = null;
    });
    window.addEventListener('hashchange', openFromHash);
    window.addEventListener('popstate', openFromHash);
    setupSorting();
    setInterval(tick, 1000);
  }

  async function start() {
    setup();
    await loadConfig();
    renderRefreshStatus();
    openFromHash();
    await refresh();
    schedule();
  }

  document.addEventListener('DOMContentLoaded', start);
}());
