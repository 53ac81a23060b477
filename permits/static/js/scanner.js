// The checkpoint scanner page (templates/checkpoint/scan.html): camera, hardware scanner and
// typed input; a full-screen verdict; offline verification from cached keys and revocations.
//
// No text in a language here: every visible word comes from the template's
// <script type="application/json" id="scanner-i18n"> block, rendered in the user's language.

import * as pp1 from "./pp1.js";
import { OfflineStore } from "./offline.js";

const root = document.getElementById("scanner");
const cfg = root.dataset;
const T = JSON.parse(document.getElementById("scanner-i18n").textContent);
const $ = (id) => document.getElementById(id);
const scannerInput = $("scanner-input");

const SCAN_INTERVAL_MS = 150; // at most ~6–7 camera decodes per second
const SAME_CODE_PAUSE_MS = 3000; // a code still in view is not checked again until it has left
const FRAME_MAX_SIDE = 800; // frames are scaled down to this before decoding
const DECODE_TIMEOUT_MS = 3000; // a decoder that has not answered a frame by then has stopped
const DECODER_START_TIMEOUT_MS = 8000; // a decoder not ready by then has failed to start
const DECODER_RETRY_MS = [1000, 2000, 5000, 10000, 30000]; // then every 30 s
const REFRESH_MS = 5 * 60 * 1000; // keys and revocations, while online
const UPLOAD_RETRY_MS = 30 * 1000; // offline scans, while some wait
const VERIFY_TIMEOUT_MS = 8000; // then the phone decides by itself
const CHECKING_DELAY_MS = 250; // a "checking" screen only when the answer is slow
const MAX_AGE_HOURS = Number(cfg.maxAgeHours) || 6;
const lang = document.documentElement.lang || "zh-CN";

/** Fills "{name}" placeholders of a translated text. */
function fmt(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

const timeFormat = new Intl.DateTimeFormat(lang, {
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const when = (date) => (date ? timeFormat.format(date) : T.never);

/** What the page knows of its connection: no network (a request failed), or no session. */
const net = { down: !navigator.onLine, sessionEnded: false };

// --- CSRF: the page's token, renewed from the server when a cached page's token is refused ---

const csrfMeta = document.querySelector('meta[name="csrf-token"]');
const csrfToken = () => (csrfMeta ? csrfMeta.content : "");

async function renewCsrf() {
  try {
    const response = await fetch(cfg.pageUrl, { credentials: "same-origin", cache: "no-store" });
    if (response.redirected) net.sessionEnded = true; // sent to the log-in page
    if (!response.ok || response.redirected) return false;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector('meta[name="csrf-token"]');
    if (!fresh || !csrfMeta) return false;
    csrfMeta.content = fresh.content;
    return true;
  } catch {
    return false;
  }
}

// --- Offline store and its status on the page ---------------------------------------------

const store = new OfflineStore(
  { keys: cfg.keysUrl, revocations: cfg.revocationsUrl, scans: cfg.scansUrl },
  csrfToken,
  cfg.officer,
);
store.renewCsrf = renewCsrf;

function isOffline() {
  return navigator.onLine === false || net.down;
}

function renderStatus() {
  const offline = isOffline();
  const status = $("net-status");
  status.dataset.online = offline ? "false" : "true";
  $("net-text").textContent = offline ? T.net.offline : T.net.online;
  const queued = store.queue().length;
  root.dataset.queue = String(queued);
  $("queue-count").textContent = queued ? fmt(T.queue, { n: queued }) : "";
  $("sync-queue").textContent = String(queued);
  $("sync-keys").textContent = store.keysRefreshedAt
    ? fmt(T.keys_info, { count: store.keys.size, time: when(store.keysRefreshedAt) })
    : T.never;
  const r = store.revocations;
  $("sync-revocations").textContent = r.refreshedAt
    ? fmt(T.revocations_info, { count: r.count, time: when(r.refreshedAt) })
    : T.never;
  $("sync-revocations").classList.toggle("is-stale", store.revocationsAgeHours() > MAX_AGE_HOURS);
  if (store.keysRefreshedAt) root.dataset.keysAt = store.keysRefreshedAt.toISOString();
  if (r.refreshedAt) root.dataset.revocationsAt = r.refreshedAt.toISOString();
  $("session-ended").hidden = !net.sessionEnded;
}

let refreshing = false;
async function refreshOfflineData() {
  if (refreshing || navigator.onLine === false) return;
  refreshing = true;
  try {
    await store.refreshKeys();
    await store.refreshRevocations();
    net.down = false;
  } catch (error) {
    console.warn("checkpoint: could not refresh keys or revocations", error);
  } finally {
    refreshing = false;
    renderStatus();
  }
}

let uploading = false;
async function uploadQueue() {
  if (uploading || navigator.onLine === false || store.queue().length === 0) return;
  uploading = true;
  try {
    const outcome = await store.flush();
    net.sessionEnded = outcome === "login";
    if (outcome === "sent") net.down = false;
  } catch (error) {
    console.warn("checkpoint: offline scans not uploaded yet", error);
  } finally {
    uploading = false;
    renderStatus();
  }
}

// --- Verdicts -------------------------------------------------------------------------------

const verdictBox = $("verdict");
let verdictShownAt = 0;

/** Sound and vibration, each switched on or off by the officer and remembered. */
const signals = {
  audio: null,
  enabled(name) {
    return localStorage.getItem(`checkpoint.${name}`) !== "0";
  },
  unlock() {
    // Browsers start audio only after a user gesture: make the context on the first one.
    if (!this.audio && (window.AudioContext || window.webkitAudioContext)) {
      this.audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    if (this.audio && this.audio.state === "suspended") this.audio.resume().catch(() => {});
  },
  beep(tone) {
    if (!this.enabled("sound") || !this.audio || this.audio.state !== "running") return;
    // [frequency Hz, start s, duration s, waveform]: one high note for valid, two middle
    // ones for a warning, a low double buzz for refused.
    const notes = {
      ok: [[1320, 0, 0.15, "sine"]],
      warn: [
        [660, 0, 0.14, "triangle"],
        [660, 0.22, 0.14, "triangle"],
      ],
      bad: [
        [196, 0, 0.3, "square"],
        [196, 0.4, 0.3, "square"],
      ],
    }[tone];
    if (!notes) return;
    const t0 = this.audio.currentTime;
    for (const [frequency, start, duration, type] of notes) {
      const osc = this.audio.createOscillator();
      const gain = this.audio.createGain();
      osc.type = type;
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, t0 + start);
      gain.gain.exponentialRampToValueAtTime(0.35, t0 + start + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + start + duration);
      osc.connect(gain).connect(this.audio.destination);
      osc.start(t0 + start);
      osc.stop(t0 + start + duration + 0.02);
    }
  },
  vibrate(tone) {
    if (!this.enabled("vibrate") || !navigator.vibrate) return;
    const pattern = { ok: [120], warn: [120, 80, 120], bad: [400, 120, 400] }[tone];
    if (pattern) navigator.vibrate(pattern);
  },
};

function addFact(list, label, value, className = "") {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  if (className) dd.className = className;
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value;
  list.append(dt, dd);
}

function renderFacts(facts) {
  const list = $("verdict-facts");
  list.replaceChildren();
  const plate = $("verdict-plate");
  plate.hidden = !(facts && facts.plate);
  plate.textContent = (facts && facts.plate) || "";
  if (!facts) return;
  const L = T.labels;
  if (facts.drivers && facts.drivers.length) {
    const drivers = document.createElement("ul");
    drivers.className = "verdict-drivers";
    for (const driver of facts.drivers) {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "driver-name";
      name.textContent = driver.name;
      const id = document.createElement("span");
      id.className = "driver-id";
      id.textContent = fmt(L.id_last4, { digits: driver.id_last4 });
      item.append(name, " ", id);
      drivers.append(item);
    }
    addFact(list, L.drivers, drivers);
  }
  if (facts.valid_from) {
    // Each date stays whole; a narrow screen breaks the line between them.
    const dates = document.createElement("span");
    for (const [i, date] of [facts.valid_from, facts.valid_until].entries()) {
      const part = document.createElement("span");
      part.className = "nowrap";
      part.textContent = i === 0 ? `${date} –` : date;
      dates.append(part, i === 0 ? " " : "");
    }
    addFact(list, L.validity, dates, "verdict-dates");
  }
  if (facts.revoke_reason) addFact(list, L.revoke_reason, facts.revoke_reason);
  addFact(list, L.enterprise, facts.enterprise);
  const place = (code) => (code && T.divisions && T.divisions[code]) || code || "?";
  if (facts.kind === "vehicle_pass") {
    if (facts.origin || facts.destination) {
      addFact(list, L.route, `${place(facts.origin)} → ${place(facts.destination)}`);
    }
    addFact(list, L.cargo, facts.cargo_category && (T.cargo[facts.cargo_category] || facts.cargo_category));
  } else {
    addFact(list, L.site, facts.site);
    addFact(list, L.district, facts.district && place(facts.district));
    addFact(list, L.staff, facts.staff_on_site);
  }
  addFact(list, L.kind, T.kinds[facts.kind] || facts.kind);
  addFact(list, L.number, facts.number, "mono");
}

const SYMBOLS = { ok: "sym-ok", bad: "sym-bad", warn: "sym-warn", info: "sym-info", wait: "sym-wait" };

/**
 * Shows a verdict over the whole screen.
 * v: {tone: ok|warn|bad|info|wait, result, title, reason, facts, notes: [text], offline: bool}
 */
function showVerdict(v) {
  clearTimeout(checkingTimer);
  verdictBox.dataset.tone = v.tone;
  verdictBox.dataset.result = v.result || "";
  verdictBox.dataset.offline = v.offline ? "true" : "false";
  for (const [tone, cls] of Object.entries(SYMBOLS)) {
    // (SVG elements have no .hidden property: set the attribute itself.)
    verdictBox.querySelector(`.${cls}`).toggleAttribute("hidden", tone !== v.tone);
  }
  $("verdict-title").textContent = v.title;
  $("verdict-reason").textContent = v.reason || "";
  renderFacts(v.facts);
  const notes = $("verdict-notes");
  notes.replaceChildren(
    ...(v.notes || []).map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }),
  );
  notes.hidden = !(v.notes && v.notes.length);
  $("verdict-dismiss").hidden = v.tone === "wait";
  verdictBox.hidden = false;
  verdictBox.scrollTop = 0;
  verdictShownAt = Date.now();
  // The scanner field keeps the focus under the verdict: the next scan goes straight in, and
  // a phone's on-screen keyboard (opened by a typed code) closes.
  scannerInput.focus({ preventScroll: true });
  if (v.tone !== "wait") {
    $("verdict-live").textContent = [v.title, v.reason, v.facts && v.facts.plate].filter(Boolean).join(". ");
    signals.beep(v.tone);
    signals.vibrate(v.tone);
  }
}

function dismissVerdict() {
  if (verdictBox.hidden) return;
  verdictBox.hidden = true;
  verdictBox.dataset.result = "";
  verdictBox.dataset.tone = "";
  $("verdict-live").textContent = "";
  scannerInput.focus({ preventScroll: true });
}

verdictBox.addEventListener("click", () => {
  // A double tap on "Check" must not close the verdict before it has been seen.
  if (Date.now() - verdictShownAt > 400) dismissVerdict();
  // The tap focused the (scrollable, focusable) verdict: the hardware scanner types into its field.
  else scannerInput.focus({ preventScroll: true });
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") dismissVerdict();
});

function toneOf(result, warning) {
  if (result === "valid") return warning ? "warn" : "ok";
  if (result === "not_yet_valid") return "warn";
  return "bad";
}

function titleOf(result, warning) {
  return result === "valid" && warning ? T.title_warning : T.titles[result] || result;
}

/** A valid work-resumption permit is matched against the site, not a vehicle and driver. */
function reasonOf(result, claims) {
  if (result === "valid" && claims && claims.kind === "WR") return T.reasons.valid_work_resumption;
  return T.reasons[result];
}

/** The verdict of the service's answer. */
function fromServer(body) {
  return {
    tone: toneOf(body.result, body.warning),
    result: body.result,
    title: titleOf(body.result, body.warning),
    reason: body.reason,
    facts: body.pass,
    notes: [],
    offline: false,
  };
}

/** The phone's own verdict, without network: QR codes only. Queued for upload. */
async function offlineVerdict(input) {
  if (!("qr" in input)) {
    // A control code or a plate is looked up in the register: only the server can answer.
    const reason = net.sessionEnded ? T.session_ended : T.offline_code;
    return { tone: "info", result: "", title: T.title_not_checked, reason, notes: [], offline: true };
  }
  if (store.keys.size === 0) {
    return { tone: "info", result: "", title: T.title_not_checked, reason: T.offline_no_keys, notes: [], offline: true };
  }
  const now = Math.floor(Date.now() / 1000);
  const checked = await pp1.verify(input.qr, store.keys, now, (number) => store.isRevoked(number));
  store.enqueue(checked.claims ? checked.claims.number : null, checked.result);
  const age = store.revocationsAgeHours();
  const stale = age > MAX_AGE_HOURS;
  const notes = [
    store.revocations.refreshedAt ? fmt(T.offline_note, { time: when(store.revocations.refreshedAt) }) : T.offline_never,
  ];
  if (stale && checked.result === "valid") notes.push(fmt(T.offline_stale, { hours: MAX_AGE_HOURS }));
  if (checked.result === "unknown_key") notes.push(fmt(T.offline_keys, { time: when(store.keysRefreshedAt) }));
  const warning = checked.result === "valid" && stale;
  return {
    tone: toneOf(checked.result, warning),
    result: checked.result,
    title: titleOf(checked.result, warning),
    reason: reasonOf(checked.result, checked.claims),
    facts: checked.claims ? pp1.factsFromClaims(checked.claims, cfg.timezone) : null,
    notes,
    offline: true,
  };
}

/** The service's verdict, or null when the phone must decide (no network, no answer in time,
 *  a server error, or an ended session). */
async function askServer(input, retried = false) {
  const body = { ...input };
  if (cfg.checkpoint) body.checkpoint = cfg.checkpoint;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), VERIFY_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(cfg.verifyUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    net.down = false;
    if (response.ok) {
      net.sessionEnded = false;
      return fromServer(await response.json());
    }
  } catch {
    net.down = true;
    return null;
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 401 || response.status === 403) {
    net.sessionEnded = true;
    return null;
  }
  // A page served from the offline copy may carry an expired CSRF token: renew it once. When
  // that fails because the session has ended, the phone decides.
  if (response.status === 400 && !retried) {
    if (await renewCsrf()) return askServer(input, true);
    if (net.sessionEnded) return null;
  }
  if (response.status >= 500 || response.status === 429) return null;
  const problem = await response.json().catch(() => ({}));
  return { tone: "info", result: "", title: T.title_not_checked, reason: problem.message || T.server_error, notes: [] };
}

let checkSeq = 0;
let checkingTimer = 0;

/** Checks one input ({qr}, {code} or {plate}): online with the service, else on the phone. */
async function check(input) {
  const seq = ++checkSeq;
  // Never leave the previous verdict up while the next one is on its way.
  dismissVerdict();
  clearTimeout(checkingTimer);
  checkingTimer = setTimeout(() => {
    if (seq === checkSeq) showVerdict({ tone: "wait", title: T.title_checking, notes: [] });
  }, CHECKING_DELAY_MS);
  let verdict = navigator.onLine === false ? null : await askServer(input);
  if (!verdict) verdict = await offlineVerdict(input);
  if (seq !== checkSeq) return; // a newer scan came in meanwhile
  showVerdict(verdict);
  renderStatus();
  if (!verdict.offline) uploadQueue(); // the network works: send what waits
}

// --- Hardware scanner field and the two typed forms ------------------------------------------

$("scanner-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = scannerInput.value.trim();
  scannerInput.value = "";
  if (!text) return;
  // A scanner types the QR text; anything else is a control code. A long text without the
  // prefix is some other QR code: the service then says that it is not a pass.
  check(text.startsWith(pp1.PREFIX) || text.length > 24 ? { qr: text } : { code: text });
});

$("code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const field = $("code-input");
  const code = field.value.trim();
  if (!code) return field.focus();
  field.value = "";
  check({ code });
});

$("plate-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const field = $("plate-input");
  const plate = field.value.trim();
  if (!plate) return field.focus();
  field.value = "";
  check({ plate });
});

// --- Camera ---------------------------------------------------------------------------------

const camera = {
  stream: null,
  starting: false, // waiting for getUserMedia (a second start must not open a second stream)
  wanted: false, // the officer switched it on (it restarts when the page is shown again)
  timer: 0,
  lastText: null,
  lastSeenAt: 0,
};
const video = $("camera-video");
const toggle = $("camera-toggle");
const canvas = document.createElement("canvas");
const context2d = canvas.getContext("2d", { willReadFrequently: true });

function cameraMessage(text) {
  $("camera-message").textContent = text || "";
}

/** Starts jsQR's worker; resolves once the worker says jsQR is loaded, rejects when it cannot
 *  load (no network and no cached copy, refused, or no answer in time). */
function startWorker() {
  return new Promise((resolve, reject) => {
    const worker = new Worker(cfg.workerUrl);
    const fail = (why) => {
      clearTimeout(timer);
      worker.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(fail, DECODER_START_TIMEOUT_MS, "no answer");
    worker.onmessage = (event) => {
      if (!event.data || !("ready" in event.data)) return;
      if (!event.data.ready) return fail("jsQR is missing");
      clearTimeout(timer);
      resolve(worker);
    };
    worker.onerror = (event) => fail(event.message || "the script did not load");
  });
}

/** BarcodeDetector where the platform has one for QR codes, else jsQR in a worker.
 *  `onBroken` is called when a running decoder stops working. */
async function makeDecoder(onBroken) {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (source) => {
          const codes = await detector.detect(source);
          return codes.length ? codes[0].rawValue : null;
        };
      }
    } catch {
      // fall through to jsQR
    }
  }
  const worker = await startWorker();
  const pending = new Map();
  let nextId = 0;
  let broken = false;
  const stop = (why) => {
    if (broken) return;
    broken = true;
    worker.terminate();
    for (const resolve of pending.values()) resolve(null);
    pending.clear();
    onBroken(why);
  };
  worker.onmessage = (event) => {
    const resolve = pending.get(event.data.id);
    pending.delete(event.data.id);
    if (resolve) resolve(event.data.text);
  };
  worker.onerror = (event) => stop(event.message);
  return (source) => {
    // Draw the frame, scaled down, and hand its pixels to the worker.
    const scale = Math.min(1, FRAME_MAX_SIDE / Math.max(source.videoWidth, source.videoHeight));
    const width = Math.round(source.videoWidth * scale);
    const height = Math.round(source.videoHeight * scale);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context2d.drawImage(source, 0, 0, width, height);
    const { data } = context2d.getImageData(0, 0, width, height);
    const id = ++nextId;
    return new Promise((resolve) => {
      if (broken) return resolve(null);
      pending.set(id, resolve);
      worker.postMessage({ id, width, height, buffer: data.buffer }, [data.buffer]);
      // A worker that hangs (or was stopped under the page) never answers: it is replaced.
      setTimeout(() => pending.has(id) && stop("no answer"), DECODE_TIMEOUT_MS);
    });
  };
}

/** The camera's QR decoder: started when the page opens, started again (with a growing pause,
 *  and at once when the page is shown again or the network returns) for as long as it fails.
 *  While it cannot run, the officer is told, next to the camera, to use the scanner field or
 *  the control code. */
const decoder = {
  decode: null, // async (video) → text or null, once started
  starting: null, // the start under way
  failures: 0,
  retryTimer: 0,
};

function ensureDecoder() {
  if (decoder.decode) return Promise.resolve(true);
  if (decoder.starting) return decoder.starting;
  clearTimeout(decoder.retryTimer);
  decoder.starting = makeDecoder(decoderFailed)
    .then((decode) => {
      decoder.decode = decode;
      decoder.failures = 0;
      return true;
    })
    .catch((error) => {
      decoderFailed(error && error.message);
      return false;
    })
    .finally(() => {
      decoder.starting = null;
      renderDecoderAlert();
    });
  return decoder.starting;
}

function decoderFailed(why) {
  console.warn("checkpoint: QR decoder failed", why);
  decoder.decode = null;
  decoder.failures += 1;
  const pause = DECODER_RETRY_MS[Math.min(decoder.failures, DECODER_RETRY_MS.length) - 1];
  clearTimeout(decoder.retryTimer);
  decoder.retryTimer = setTimeout(ensureDecoder, pause);
  renderDecoderAlert();
}

/** Tries again at once (the page is back on screen, or the network is back). */
function retryDecoderNow() {
  if (decoder.decode || decoder.starting || decoder.failures === 0) return;
  ensureDecoder();
}

function renderDecoderAlert() {
  const broken = decoder.failures > 0 && !decoder.decode;
  $("camera-alert").hidden = !(broken && camera.wanted);
  root.dataset.decoder = decoder.decode ? "ready" : broken ? "failed" : "starting";
  if (camera.stream) cameraMessage(broken ? "" : T.camera.scanning);
}

async function scanFrame() {
  if (!camera.stream) return;
  const started = performance.now();
  if (video.readyState >= 2 && video.videoWidth > 0) {
    let text = null;
    try {
      // (No decoder yet: the picture runs, and frames are read once it has started.)
      text = decoder.decode ? await decoder.decode(video) : null;
    } catch {
      text = null;
    }
    if (text && camera.stream) onDecoded(text);
  }
  if (!camera.stream) return;
  const wait = Math.max(0, SCAN_INTERVAL_MS - (performance.now() - started));
  camera.timer = setTimeout(() => requestAnimationFrame(scanFrame), wait);
}

function onDecoded(text) {
  const now = Date.now();
  // The same code held in view is checked once; after it has been out of view for a while
  // (or another code came), it is checked again.
  const same = text === camera.lastText && now - camera.lastSeenAt < SAME_CODE_PAUSE_MS;
  camera.lastText = text;
  camera.lastSeenAt = now;
  if (!same) check({ qr: text });
}

async function startCamera() {
  camera.wanted = true;
  renderCameraButton();
  if (camera.stream || camera.starting) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraMessage(T.camera.unavailable);
    camera.wanted = false;
    renderCameraButton();
    return;
  }
  cameraMessage(T.camera.starting);
  camera.starting = true;
  ensureDecoder(); // (at the same time as the camera; the page has usually started it already)
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    if (!camera.wanted || document.hidden) {
      // Switched off, or the page hidden, while the camera was starting.
      stream.getTracks().forEach((track) => track.stop());
      cameraMessage("");
      return;
    }
    camera.stream = stream;
    video.srcObject = stream;
    $("camera-view").hidden = false;
    await video.play().catch(() => {});
    root.dataset.camera = "on";
    renderDecoderAlert();
    scanFrame();
  } catch (error) {
    camera.wanted = false;
    const name = error && error.name;
    cameraMessage(name === "NotAllowedError" || name === "SecurityError" ? T.camera.denied : T.camera.unavailable);
  } finally {
    camera.starting = false;
  }
  renderCameraButton();
}

/** Stops the camera; `keepWanted` when only the page was hidden, so it comes back. */
function stopCamera(keepWanted = false) {
  camera.wanted = keepWanted && camera.wanted;
  clearTimeout(camera.timer);
  if (camera.stream) camera.stream.getTracks().forEach((track) => track.stop());
  camera.stream = null;
  video.srcObject = null;
  $("camera-view").hidden = true;
  root.dataset.camera = "off";
  if (!keepWanted) cameraMessage("");
  renderCameraButton();
}

function renderCameraButton() {
  toggle.textContent = camera.wanted ? T.camera.stop : T.camera.start;
  toggle.setAttribute("aria-pressed", camera.wanted ? "true" : "false");
  renderDecoderAlert();
}

toggle.addEventListener("click", () => (camera.wanted ? stopCamera() : startCamera()));

// The camera never runs while the page is not on screen.
document.addEventListener("visibilitychange", () => {
  if (document.hidden) return stopCamera(true);
  retryDecoderNow();
  if (camera.wanted) startCamera();
});
window.addEventListener("pagehide", () => stopCamera(true));

// --- Settings, network events, start -------------------------------------------------------

for (const name of ["sound", "vibrate"]) {
  const box = $(`opt-${name}`);
  box.checked = signals.enabled(name);
  box.addEventListener("change", () => localStorage.setItem(`checkpoint.${name}`, box.checked ? "1" : "0"));
}
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, () => signals.unlock(), { passive: true });
}

window.addEventListener("online", () => {
  net.down = false;
  retryDecoderNow();
  renderStatus();
  refreshOfflineData();
  uploadQueue();
});
window.addEventListener("offline", renderStatus);
window.addEventListener("storage", renderStatus); // another tab queued or uploaded scans

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(cfg.swUrl, { scope: cfg.swScope }).catch((error) => {
    console.warn("checkpoint: no offline copy of the page", error);
  });
}

scannerInput.focus({ preventScroll: true });
ensureDecoder(); // ready before the officer taps "Start camera"
await store.init();
renderStatus();
root.dataset.ready = "true";
refreshOfflineData().then(uploadQueue);
setInterval(refreshOfflineData, REFRESH_MS);
setInterval(uploadQueue, UPLOAD_RETRY_MS);
