// rmeval's frame view: shows frames, owns the keyboard, binds every answer to the frame shown.
// Plain JS speaking Streamlit's component protocol (componentReady / render / setComponentValue /
// setFrameHeight); no build step. See rmeval/labeling/answers.py for what the server does.
"use strict";
(function () {
  const PREFETCH = 30;          // upcoming frames kept decoded
  const FETCH_AHEAD = 400;      // upcoming frames whose bytes are fetched ahead
  const SEND_MS = 600;          // least time between two messages to the server
  const RESEND_MS = 1500;       // re-send unacknowledged answers after this long
  const HEALTH_MS = 1000;       // server health poll
  const PENDING_MS = 3000;      // an answer unconfirmed this long is listed as not saved yet
  const LABEL_TEXT = { "1": "Goal", "0": "Not goal", "-1": "Skip" };
  const KEYS = { g: 1, n: 0, s: -1 };

  let args = null;              // last render args
  let mode = "label";
  let order = [], hashes = [], info = [], serverAns = [], packs = null;  // packs: {base, size, lengths}
  let posOf = new Map();        // frame -> position in order
  let orderKey = null, boot = null;
  let pos = null;               // position shown (null: nothing to show)
  let display = null;           // {seq, frame, hash, shownAt, answered}
  let waitingFor = null;
  let evAt = null;              // the key event's own timestamp (for the benchmark)
  let latencyFrom = null;       // key time of the answer whose next frame is not on screen yet
  const cache = new Map();      // frame -> {state: 'loading'|'ready'|'error', img, hash, error}
  let state = null;             // persisted per tab: {tab, seq, nonce, pending: [ops], history: [{seq, frame}]}
  let storageKey = null;
  // Unconfirmed answers also live in localStorage (one key per tab, under pendPrefix: this
  // dataset's identity and the rater), so a later page of this dataset on this address (same
  // port) re-sends them even after this tab is closed. They are stored once (receipts are
  // idempotent), for the frame each names and only if its bytes still have the hash shown.
  let pendPrefix = null;
  let foreign = [];             // [{tab, ops}]: unconfirmed answers of earlier pages, re-sent by this one
  let lastSend = 0, healthFails = 0, serverDown = false;
  const stats = { keys: [], dropped: 0, ignored: 0, answers: [], drops: [], errors: 0, loads: [] };
  window.__rmevalFrameView = stats;   // read by the benchmark

  const $ = (id) => document.getElementById(id);
  const post = (type, extra) => window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type }, extra), "*");
  const now = () => performance.timeOrigin + performance.now();

  // ------------------------------------------------------------------ persisted tab state
  function loadState() {
    storageKey = "rmeval-frame-view:" + args.dataset + ":" + args.rater;
    let s = null;
    try { s = JSON.parse(sessionStorage.getItem(storageKey) || "null"); } catch (e) { s = null; }
    if (!s || typeof s.tab !== "string") {
      const rnd = new Uint8Array(8); crypto.getRandomValues(rnd);
      s = { tab: "t" + Array.from(rnd, (b) => b.toString(16).padStart(2, "0")).join(""), seq: 0, nonce: 0, pending: [], history: [] };
    }
    state = s;
    pendPrefix = "rmeval-pending:" + (args.identity || args.dataset) + ":" + args.rater + ":";
    adopt();
  }
  function saveState() {
    try { sessionStorage.setItem(storageKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
    keep(state.tab, state.pending);
  }
  function keep(tab, ops) {
    try {
      if (ops.length) localStorage.setItem(pendPrefix + tab, JSON.stringify(ops));
      else localStorage.removeItem(pendPrefix + tab);
    } catch (e) { /* storage full or disabled: the tab's sessionStorage still holds them */ }
  }
  function adopt() {         // unconfirmed answers other pages of this dataset and rater left here
    foreign = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (!k || !k.startsWith(pendPrefix) || k === pendPrefix + state.tab) continue;
        const ops = JSON.parse(localStorage.getItem(k) || "[]");
        if (Array.isArray(ops) && ops.length) foreign.push({ tab: k.slice(pendPrefix.length), ops });
      }
    } catch (e) { foreign = []; }
  }
  const nForeign = () => foreign.reduce((n, f) => n + f.ops.filter((op) => op.op === "answer").length, 0);
  const unsent = () => state.pending.length > 0 || foreign.length > 0;

  // ------------------------------------------------------------------ answers (server + pending overlay)
  function answerAt(p) {
    const frame = order[p];
    for (let i = state.pending.length - 1; i >= 0; i--) {
      const op = state.pending[i];
      if (op.op === "answer" && op.frame === frame) return op.label === null ? -1 : op.label;
      if (op.op === "undo" && op.frame === frame) return op.before;
    }
    for (const f of foreign) for (const op of f.ops) if (op.op === "answer" && op.frame === frame) return op.label === null ? -1 : op.label;
    return serverAns[p];
  }
  function nextWhere(start, test) {
    for (let p = start; p < order.length; p++) if (test(answerAt(p))) return p;
    return null;
  }
  const unanswered = (a) => a === null || a === undefined;
  const unlabelled = (a) => a === null || a === undefined || a === -1;

  // ------------------------------------------------------------------ images: fetch, hash, decode
  async function sha16(buf) {
    if (!(window.crypto && crypto.subtle)) return null;
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
    return Array.from(d.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  // Bytes of up to FETCH_AHEAD upcoming frames are fetched (3 at a time) and hashed early, so a
  // busy server does not hold up the next frame; the next PREFETCH are also decoded.
  const queue = []; let active = 0;
  function load(p, urgent) {
    const frame = order[p];
    if (frame === undefined) return;
    const entry = cache.get(frame);
    if (entry) {
      if (entry.state === "fetched" && (urgent || near(p))) decode(entry, frame);
      if (entry.state === "queued" && urgent) { const k = queue.indexOf(p); if (k > 0) { queue.splice(k, 1); queue.unshift(p); } }
      return;
    }
    if (urgent) queue.unshift(p); else queue.push(p);
    cache.set(frame, { state: "queued", t0: now() });
    pump();
  }
  const near = (p) => pos !== null && p >= pos && p <= pos + PREFETCH * 2;
  function pump() {
    while (active < 3 && queue.length) {
      const p = queue.shift();
      const frame = order[p];
      const entry = cache.get(frame);
      if (!entry || entry.state !== "queued") continue;
      active++;
      if (packs) {
        // the whole pack holding p: every frame in it not yet fetched comes with it
        const k = Math.floor(p / packs.size), members = [];
        for (let q = k * packs.size; q < Math.min(order.length, (k + 1) * packs.size); q++) {
          let e = cache.get(order[q]);
          if (!e) { e = { state: "queued", t0: now() }; cache.set(order[q], e); }
          if (e.state === "queued" || e.state === "error") { e.state = "loading"; members.push(q); }
        }
        fetchPack(k, members).finally(() => { active--; pump(); });
      } else {
        entry.state = "loading";
        fetchOne(p, frame, entry).finally(() => { active--; pump(); });
      }
    }
  }
  async function fetchPack(k, members) {
    const ord = order;
    let buf = null;
    try {
      const r = await fetch(packs.base + "chunk_" + k + ".bin", { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      buf = await r.arrayBuffer();
    } catch (e) { buf = null; stats.errors++; }
    if (ord !== order) return;          // the order changed meanwhile: these frames are no longer wanted
    let off = 0;
    const start = k * packs.size, want = new Set(members);
    for (let q = start; q < Math.min(order.length, start + packs.size); q++) {
      const len = packs.lengths[q], frame = order[q], entry = cache.get(frame);
      if (want.has(q) && entry) {
        if (buf === null || off + len > buf.byteLength) {
          entry.state = "error"; entry.error = "the frame pack did not arrive";
          setTimeout(() => { if (cache.get(frame) === entry) cache.delete(frame); if (waitingFor === q) load(q, true); }, 1000);
          if (waitingFor === q) show(q);
        } else {
          const bytes = buf.slice(off, off + len);
          entry.hash = (await sha16(bytes)) || hashes[q];
          if (ord !== order) return;
          entry.url = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
          entry.state = "fetched";
          if (entry.hash !== hashes[q]) entry.mismatch = true;
          if (near(q) || waitingFor === q) decode(entry, frame);
        }
      }
      off += len;
    }
  }
  async function fetchOne(p, frame, entry) {
    try {
      const r = await fetch(args.base + frame.split("/").map(encodeURIComponent).join("/"), { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const buf = await r.arrayBuffer();
      entry.hash = (await sha16(buf)) || hashes[p];
      entry.url = URL.createObjectURL(new Blob([buf], { type: "image/png" }));
      entry.state = "fetched";
      if (entry.hash !== hashes[p]) entry.mismatch = true;
      if (near(p) || waitingFor === p) decode(entry, frame);
    } catch (e) {
      entry.state = "error"; entry.error = String(e); stats.errors++;
      setTimeout(() => {
        if (cache.get(frame) === entry) cache.delete(frame);
        if (waitingFor !== null && order[waitingFor] === frame) load(waitingFor, true);
      }, 1000);
      if (waitingFor !== null && order[waitingFor] === frame) show(waitingFor);
    }
  }
  async function decode(entry, frame) {
    if (entry.decoding) return;
    entry.decoding = true;
    const img = new Image();
    img.alt = frame; img.draggable = false; img.src = entry.url;
    try { await img.decode(); } catch (e) { /* shown anyway */ }
    entry.img = img; entry.state = "ready"; entry.decoding = false; decoded.add(frame);
    stats.loads.push([posOf.get(frame), Math.round(entry.t0), Math.round(now() - entry.t0)]);
    if (waitingFor !== null && order[waitingFor] === frame) show(waitingFor);
  }
  const decoded = new Set();     // frames held decoded; far ones are released (the bytes stay)
  function release() {
    for (const frame of decoded) {
      const p = posOf.get(frame);
      if (p !== undefined && pos !== null && p >= pos - 3 && p <= pos + PREFETCH * 2) continue;
      if (display && display.frame === frame) continue;
      const e = cache.get(frame);
      if (e && e.state === "ready") { e.img = null; e.state = "fetched"; }
      decoded.delete(frame);
    }
  }
  function prefetch() {
    if (pos === null) return;
    if (decoded.size > PREFETCH * 3) release();
    load(pos, true);
    const j = nextWhere(pos + 1, unlabelled); if (j !== null) load(j);
    load(pos + 1); load(pos - 1);
    let n = 0;
    for (let p = pos + 1; p < order.length && n < FETCH_AHEAD; p++) if (unanswered(answerAt(p))) { load(p); n++; }
  }

  // ------------------------------------------------------------------ showing a frame
  function show(p) {
    pos = p;
    if (p === null) {
      display = null; waitingFor = null; latencyFrom = null;
      delete $("box").dataset.shown; $("box").replaceChildren(Object.assign(document.createElement("div"), { id: "loading", textContent: "No frame left to answer in this order. Undo, browse with \u2190/\u2192, or jump (J) to a skipped frame." }));
      $("caption").textContent = "\u00a0";
      refreshPanel(); return;
    }
    const frame = order[p];
    const entry = cache.get(frame);
    if (!entry || entry.state !== "ready") {
      display = null; waitingFor = p; delete $("box").dataset.shown;
      $("caption").textContent = "Loading frame " + (p + 1) + " of " + order.length + " (" + frame + ")...";
      $("box").replaceChildren(Object.assign(document.createElement("div"), { id: "loading", textContent: entry && entry.state === "error" ? "Cannot load " + frame + " (" + entry.error + "); retrying..." : "Loading the frame..." }));
      load(p, true); refreshPanel(); return;
    }
    waitingFor = null;
    $("box").replaceChildren(entry.img);
    entry.img.style.imageRendering = entry.img.naturalWidth * 2 <= $("box").clientWidth ? "pixelated" : "auto";
    state.seq += 1;
    const shown = { seq: state.seq, frame, hash: entry.hash, shownAt: now(), paintedAt: null, answered: false, pos: p };
    display = shown;
    delete $("box").dataset.shown;
    requestAnimationFrame(() => {                                // the frame is on screen from this paint on
      shown.paintedAt = now();
      if (display === shown) $("box").dataset.shown = frame;
    });
    saveState();
    $("caption").textContent = "Frame " + (p + 1) + " of " + order.length + " in this order \u00b7 " + info[p] + " \u00b7 " + frame;
    if (latencyFrom !== null) { markShown(latencyFrom); latencyFrom = null; }
    if (entry.mismatch) note("The file of " + frame + " differs from the one the server listed; answers to it will be refused. Reload the page.", "error");
    refreshPanel();
    prefetch();
  }

  function refreshPanel() {
    const a = pos === null ? undefined : answerAt(pos);
    const answered = !unanswered(a);
    $("box").classList.toggle("answered", answered && display !== null);
    $("mine").innerHTML = answered ? "Your answer for this frame: <b>" + LABEL_TEXT[String(a)] + "</b>" : "&nbsp;";
    for (const b of document.querySelectorAll("button.answer")) {
      b.classList.toggle("chosen", answered && String(a) === b.dataset.label);
      b.disabled = display === null || args.read_only;
    }
    $("b-undo").disabled = args.read_only || state.history.length === 0;
    let labelled = 0, skipped = 0;
    for (let p = 0; p < order.length; p++) { const x = answerAt(p); if (x === 1 || x === 0) labelled++; else if (x === -1) skipped++; }
    const n = order.length, pct = n ? (100 * labelled / n) : 0;
    const pend = state.pending.length;
    $("progress").innerHTML = "<b>You:</b> " + labelled + " / " + n + " labelled" + (skipped ? " \u00b7 " + skipped + " skipped" : "") +
      '<div class="bar"><div style="width:' + pct.toFixed(1) + '%"></div></div>' +
      (pend ? '<span class="warn">' + pend + " answer" + (pend > 1 ? "s" : "") + " waiting for the server</span>" : "");
  }

  let warnUntil = 0;
  function note(text, level) {
    if (!level && Date.now() < warnUntil) return;   // keep a warning in view a few seconds
    if (level) warnUntil = Date.now() + 4000;
    const el = $("note"); el.textContent = text || "\u00a0"; el.className = "note" + (level ? " " + level : "");
  }

  // ------------------------------------------------------------------ actions
  function answer(label, keyAt, how) {
    if (args.read_only) { note("The labels database is read-only: nothing can be saved.", "error"); return; }
    if (display === null) {
      stats.dropped++; stats.drops.push({ pos: waitingFor, t: now(), state: waitingFor === null ? "none" : (cache.get(order[waitingFor]) || {}).state });
      note("Not saved: the " + how + " came while the next frame was still loading (nothing was on screen). Press it again now.", "warn");
      return;
    }
    if (display.paintedAt === null || keyAt < display.paintedAt) {
      stats.ignored++;
      note("Ignored a " + how + " pressed before " + display.frame + " was on screen (a double press?). Press again to answer it.", "warn");
      return;
    }
    if (display.answered) {
      stats.ignored++;
      note("You already answered this frame (" + LABEL_TEXT[String(display.label)] + "); use U to undo.", "warn");
      return;
    }
    const op = { op: "answer", seq: display.seq, frame: display.frame, hash: display.hash,
                 label: label === -1 ? null : label, shown_at: Math.round(display.paintedAt), key_at: Math.round(keyAt) };
    display.answered = true; display.label = label;
    stats.answers.push({ seq: op.seq, frame: op.frame, label: op.label });
    state.pending.push(op);
    state.history.push({ seq: op.seq, frame: op.frame, label });
    if (state.history.length > 500) state.history.shift();
    saveState();
    send();
    note("Saving " + LABEL_TEXT[String(label)] + " for " + display.frame + "...");
    const nxt = nextWhere(display.pos + 1, unanswered);
    latencyFrom = keyAt;
    show(nxt);
  }
  function markShown(keyAt) {
    // time from the key press to the frame on screen: measured at the next paint
    const seq = display.seq;
    requestAnimationFrame(() => { const t = now(); stats.keys.push({ seq, key_at: keyAt, shown_at: t, ms: t - keyAt, ev_ms: evAt === null ? null : t - evAt }); if (stats.keys.length > 5000) stats.keys.shift(); });
  }
  function undo() {
    if (args.read_only) return;
    const last = state.history.pop();
    if (!last) { note("Nothing to undo in this tab.", "warn"); return; }
    const p = posOf.get(last.frame);
    const before = null;
    state.seq += 1;
    state.pending.push({ op: "undo", seq: state.seq, target: last.seq, frame: last.frame, before });
    saveState(); send();
    note("Undid " + LABEL_TEXT[String(last.label)] + " for " + last.frame + "; it is shown again.");
    if (p !== undefined) show(p);
  }
  function jump() {
    const start = pos === null ? 0 : pos + 1;
    const p = nextWhere(start, unlabelled);
    if (p === null) { note("You have labelled every frame after this one.", ""); return; }
    show(p);
  }
  function step(d) {
    if (!order.length) return;
    const p = pos === null ? (d > 0 ? 0 : order.length - 1) : Math.min(order.length - 1, Math.max(0, pos + d));
    show(p);
  }

  // At most one message every SEND_MS (answers in between go together): fewer reruns of a busy server.
  let sendTimer = null;
  function send() {
    if (sendTimer !== null) return;
    const wait = lastSend + SEND_MS - Date.now();
    if (wait > 0) { sendTimer = setTimeout(() => { sendTimer = null; sendNow(); }, wait); return; }
    sendNow();
  }
  function sendNow() {
    state.nonce += 1; saveState(); lastSend = Date.now();
    post("streamlit:setComponentValue", { value: { tab: state.tab, nonce: state.nonce, ops: state.pending, foreign, have: orderKey }, dataType: "json" });
  }

  // ------------------------------------------------------------------ keyboard (iframe and page)
  function editable(el) {
    if (!el) return false;
    const tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  function onKey(e) {
    if (mode !== "label" || !args) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const doc = e.target && e.target.ownerDocument;
    if (doc !== document && editable(e.target)) {
      if (k === "Escape") { e.target.blur(); checkListening(); }
      return;                                  // typing in a page field
    }
    const known = k in KEYS || k === "u" || k === "j" || k === "ArrowLeft" || k === "ArrowRight";
    if (!known) return;
    e.preventDefault(); e.stopPropagation();
    // when the key was pressed: the event's own timestamp, in its window's clock
    const ev = (e.view && e.view.performance) || performance;
    evAt = Math.min(now(), ev.timeOrigin + e.timeStamp);
    const keyAt = evAt;
    if (e.repeat) { stats.ignored++; note("Held key ignored: press once per frame.", "warn"); return; }
    if (k in KEYS) answer(KEYS[k], keyAt, "key " + e.key.toUpperCase());
    else if (k === "u") undo();
    else if (k === "j") jump();
    else if (k === "ArrowLeft") step(-1);
    else if (k === "ArrowRight") step(1);
  }
  document.addEventListener("keydown", onKey, true);
  let parentDoc = null;
  try { parentDoc = window.parent.document; } catch (e) { parentDoc = null; }
  function parentKey(e) {
    if (!window.frameElement || !window.frameElement.isConnected) { detach(); return; }
    onKey(e);
  }
  function detach() { if (parentDoc) { parentDoc.removeEventListener("keydown", parentKey, true); parentDoc.removeEventListener("focusin", checkListening, true); } }
  if (parentDoc) {
    parentDoc.addEventListener("keydown", parentKey, true);
    parentDoc.addEventListener("focusin", checkListening, true);
    window.addEventListener("pagehide", detach);
  }
  function listening() {
    if (document.hasFocus()) return [true, ""];
    if (!parentDoc) return [false, "the page"];
    const el = parentDoc.activeElement;
    if (!parentDoc.hasFocus()) return [false, "another window"];
    if (editable(el)) return [false, el.getAttribute("aria-label") || el.getAttribute("placeholder") || "a text or choice field"];
    return [true, ""];
  }
  function checkListening() {
    if (mode !== "label" || !args) return;
    // a closed choice box (e.g. the Order select after a choice) keeps focus and would eat the keys: release it
    if (parentDoc) {
      const el = parentDoc.activeElement;
      if (el && el.getAttribute && el.getAttribute("role") === "combobox" && el.getAttribute("aria-expanded") === "false") {
        if (el.closest && el.closest("[data-testid='stSidebar']") && el.dataset.rmevalTyping !== "1") el.blur();
      }
    }
    const [on, where] = listening();
    const el = $("listen");
    el.className = "listen " + (on ? "on" : "off");
    el.textContent = on ? "Keys: on (G N S U J \u2190 \u2192)" : "Keys are not reaching the labeller (focus: " + where + "). Click here or press Esc.";
  }
  $("listen").addEventListener("click", () => { if (parentDoc && editable(parentDoc.activeElement)) parentDoc.activeElement.blur(); window.focus(); checkListening(); });
  $("box").addEventListener("click", () => { window.focus(); checkListening(); });
  window.addEventListener("focus", checkListening); window.addEventListener("blur", () => setTimeout(checkListening, 0));

  for (const b of document.querySelectorAll("button.answer")) b.addEventListener("click", (e) => { answer(Number(b.dataset.label), Math.min(now(), ((e.view && e.view.performance) || performance).timeOrigin + e.timeStamp), "click"); b.blur(); window.focus(); });
  $("b-undo").addEventListener("click", () => undo());
  $("b-jump").addEventListener("click", () => jump());
  $("b-prev").addEventListener("click", () => step(-1));
  $("b-next").addEventListener("click", () => step(1));

  // ------------------------------------------------------------------ server health
  function banner(down) {
    const html = down ? "The labelling server has stopped. " + keptText() + " Restart it on the same port with <code>" +
      restartCmd() + "</code>" : "";
    if (mode === "label") { const d = $("down"); d.hidden = !down; d.innerHTML = html; }
    if (!parentDoc) return;
    let el = parentDoc.getElementById("rmeval-server-down");
    if (!down) { if (el) el.remove(); return; }
    if (!el) {
      el = parentDoc.createElement("div"); el.id = "rmeval-server-down";
      el.setAttribute("role", "alert");
      el.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:1000000;background:#c01c28;color:#fff;padding:14px 24px;font:600 16px 'Source Sans Pro',sans-serif;";
      const st = parentDoc.createElement("style"); st.textContent = "body:has(#rmeval-server-down) [role=dialog]{display:none!important} #rmeval-server-down code{background:rgba(255,255,255,.18);padding:1px 5px;border-radius:4px;font-weight:400;user-select:all}";
      el.appendChild(st);
      el.appendChild(parentDoc.createElement("span"));
      parentDoc.body.appendChild(el);
    }
    el.lastChild.innerHTML = html;
  }
  const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const restartCmd = () => esc(args && args.restart ? args.restart : "rmeval label --port " + location.port);
  function keptText() {
    const n = state ? state.pending.filter((op) => op.op === "answer").length + nForeign() : 0;
    if (!n) return "Answers you give in this tab are kept in this browser and saved when it is back.";
    return n + " answer" + (n === 1 ? " is" : "s are") + " not saved yet: kept in this browser, they are sent again until " +
      "the server confirms them, once it runs again on port " + esc(location.port) + " (a page on another port cannot reach them).";
  }
  // Unconfirmed answers stay in view: while the server is down, or when one waits longer than PENDING_MS.
  function showPending() {
    const el = $("pending");
    if (!el || !state || mode !== "label") return;
    const ops = state.pending.concat(...foreign.map((f) => f.ops)).filter((op) => op.op === "answer");
    const oldest = ops.reduce((t, op) => Math.min(t, op.key_at || Infinity), Infinity);
    const on = ops.length > 0 && (serverDown || now() - oldest > PENDING_MS);
    el.hidden = !on;
    if (on) el.innerHTML = "Not saved yet: " + ops.length + " answer" + (ops.length === 1 ? "" : "s") + " (" +
      ops.slice(0, 4).map((op) => esc(op.frame.split("/").pop())).join(", ") + (ops.length > 4 ? ", ..." : "") + "). " +
      keptText() + (serverDown ? " Restart it with <code>" + restartCmd() + "</code>" : "");
  }
  async function health() {
    let ok = false;
    try { const r = await fetch("/_stcore/health", { cache: "no-store" }); ok = r.ok; } catch (e) { ok = false; }
    healthFails = ok ? 0 : healthFails + 1;
    const down = healthFails >= 2;
    if (down !== serverDown) { serverDown = down; banner(down); if (!down && state && unsent()) send(); }
    else if (down) banner(true);   // the count of unsaved answers changes
    if (mode === "label") { checkListening(); showPending(); }
  }
  setInterval(health, HEALTH_MS);

  // ------------------------------------------------------------------ resend watchdog
  setInterval(() => {
    if (state && unsent() && !serverDown && Date.now() - lastSend > RESEND_MS) send();
  }, 500);

  // ------------------------------------------------------------------ Streamlit protocol
  function height() { if (mode !== "label") return; post("streamlit:setFrameHeight", { height: Math.ceil(document.documentElement.scrollHeight) + 4 }); }
  window.addEventListener("message", (event) => {
    const msg = event.data;
    if (!msg || msg.type !== "streamlit:render") return;
    onRender(msg.args || {});
  });
  function onRender(a) {
    const first = args === null;
    args = a; mode = a.mode || "label";
    if (mode !== "label") { document.getElementById("app").hidden = true; post("streamlit:setFrameHeight", { height: 0 }); return; }
    document.getElementById("app").hidden = false;
    if (first || state === null) loadState();
    // outcomes of what the server processed in this run
    const refused = [];
    if (Array.isArray(a.outcomes)) {
      const done = new Map(a.outcomes.map((o) => [o.seq, o]));
      state.pending = state.pending.filter((op) => !done.has(op.seq));
      for (const o of a.outcomes) if (o.status === "refused") refused.push(o);
      saveState();
    }
    // outcomes of the answers of earlier pages this one re-sent: forget those the server settled
    let settled = 0;
    if (Array.isArray(a.adopted)) {
      for (const d of a.adopted) {
        const f = foreign.find((x) => x.tab === d.tab);
        if (!f || !Array.isArray(d.outcomes)) continue;
        const done = new Map(d.outcomes.map((o) => [o.seq, o]));
        for (const o of d.outcomes) if (o.status === "refused") refused.push(o); else if (o.status !== "undone") settled++;
        f.ops = f.ops.filter((op) => !done.has(op.seq));
        let left = [];
        try { left = JSON.parse(localStorage.getItem(pendPrefix + f.tab) || "[]"); } catch (e) { left = []; }
        keep(f.tab, Array.isArray(left) ? left.filter((op) => !done.has(op.seq)) : []);
      }
      foreign = foreign.filter((f) => f.ops.length);
    }
    // The order, hashes and captions come only when this view does not hold them yet (the
    // value says which order it holds): a short message per answer for a busy server.
    if (a.order === null && a.order_key !== orderKey) { orderKey = null; sendNow(); return; }
    const newOrder = a.order !== null && a.order_key !== orderKey;
    if (newOrder) {
      order = a.order; hashes = a.hashes; info = a.info; packs = a.packs || null;
      for (const e of cache.values()) if (e.url) URL.revokeObjectURL(e.url);
      cache.clear(); decoded.clear(); queue.length = 0;
      posOf = new Map(order.map((f, i) => [f, i]));
      orderKey = a.order_key;
    }
    serverAns = a.answers;
    const w = $("left").clientWidth || 600;
    const bh = Math.min(a.max_height || 560, Math.round(w * a.frame_h / a.frame_w));
    $("box").style.height = bh + "px";
    if (newOrder) {
      const start = nextWhere(0, unanswered);
      show(start);
    } else refreshPanel();
    if (refused.length) note("Not saved: " + refused.map((o) => o.message).join("; "), "error");
    else if (settled) note("Saved " + settled + " answer" + (settled === 1 ? "" : "s") + " an earlier page of this dataset had not saved.");
    else if (Array.isArray(a.outcomes) && a.outcomes.some((o) => o.status === "stored" || o.status === "already") && !state.pending.length) {
      const last = a.outcomes[a.outcomes.length - 1];
      if (last.status === "stored" || last.status === "already") note("Saved " + last.frame + ".");
    }
    if (a.boot !== boot) { const again = boot !== null; boot = a.boot; if (again) { adopt(); if (unsent()) send(); } }
    if (first && unsent()) send();
    checkListening(); showPending();
    height();
  }
  new ResizeObserver(height).observe(document.body);
  post("streamlit:componentReady", { apiVersion: 1 });
})();
