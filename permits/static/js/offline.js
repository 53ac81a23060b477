// What the checkpoint page keeps on the phone to decide without network, and the scans it
// decided that way until they are uploaded:
//
//   - the published keys (JWKS from /api/v1/keys) in localStorage, with the refresh time;
//   - the revocation list (/api/v1/revocations?since=N) in IndexedDB, one record per pass
//     number, with the feed counter and the time of the last complete refresh; numbers the
//     feed lists as `reinstated` (their enterprise's suspension was lifted) leave the list;
//   - the queue of offline scans in localStorage, one per officer (a shared phone must not
//     upload one officer's scans under another's name), POSTed to /api/v1/scans when online.

import { importKeys } from "./pp1.js";

const KEYS_ITEM = "checkpoint.jwks";
const QUEUE_ITEM = "checkpoint.queue";
const DB_NAME = "checkpoint";
const REVOKED = "revoked";
const META = "meta";
const UPLOAD_BATCH = 1000; // the most /api/v1/scans takes at once

function readJson(item, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(item));
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

/** A promise for the result of an IndexedDB request. */
function requested(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** A promise that an IndexedDB transaction has committed. */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error);
  });
}

function openDatabase() {
  const request = indexedDB.open(DB_NAME, 1);
  request.onupgradeneeded = () => {
    request.result.createObjectStore(REVOKED);
    request.result.createObjectStore(META);
  };
  return requested(request);
}

export class OfflineStore {
  /** urls: {keys, revocations, scans}; csrfToken: () => the page's current CSRF token. */
  constructor(urls, csrfToken, officer) {
    this.urls = urls;
    this.csrfToken = csrfToken;
    this.queueItem = `${QUEUE_ITEM}.${officer}`;
    this.keys = new Map(); // kid → CryptoKey
    this.keysRefreshedAt = null; // Date
    this.revocations = { counter: 0, count: 0, refreshedAt: null };
    this.db = null;
  }

  async init() {
    const saved = readJson(KEYS_ITEM, null);
    if (saved && saved.jwks) {
      this.keys = await importKeys(saved.jwks);
      this.keysRefreshedAt = saved.refreshedAt ? new Date(saved.refreshedAt) : null;
    }
    try {
      this.db = await openDatabase();
      await this.loadRevocationMeta();
    } catch (error) {
      console.warn("checkpoint: no IndexedDB, revocations cannot be kept offline", error);
    }
  }

  async loadRevocationMeta() {
    const tx = this.db.transaction([REVOKED, META]);
    const [counter, refreshedAt, count] = await Promise.all([
      requested(tx.objectStore(META).get("counter")),
      requested(tx.objectStore(META).get("refreshedAt")),
      requested(tx.objectStore(REVOKED).count()),
    ]);
    this.revocations = {
      counter: counter || 0,
      count,
      refreshedAt: refreshedAt ? new Date(refreshedAt) : null,
    };
  }

  /** Fetches the JWKS and keeps it; throws when the network or the server fails. */
  async refreshKeys() {
    const response = await fetch(this.urls.keys, { cache: "no-cache" });
    if (!response.ok) throw new Error(`keys: HTTP ${response.status}`);
    const jwks = await response.json();
    const keys = await importKeys(jwks);
    const refreshedAt = new Date();
    localStorage.setItem(KEYS_ITEM, JSON.stringify({ jwks, refreshedAt: refreshedAt.toISOString() }));
    this.keys = keys;
    this.keysRefreshedAt = refreshedAt;
  }

  /** Asks the feed from our counter until a page comes back empty (pages hold ≤ 5000). */
  async refreshRevocations() {
    if (!this.db) throw new Error("revocations: no IndexedDB");
    let since = this.revocations.counter;
    for (let page = 0; page < 10000; page++) {
      const response = await fetch(`${this.urls.revocations}?since=${since}`, { cache: "no-store" });
      if (!response.ok) throw new Error(`revocations: HTTP ${response.status}`);
      const body = await response.json();
      if (!Number.isInteger(body.counter) || !Array.isArray(body.revoked)) {
        throw new Error("revocations: unexpected answer");
      }
      const tx = this.db.transaction([REVOKED, META], "readwrite");
      if (body.counter < since) {
        // The feed is behind us (a restored or new database): start again from the beginning.
        tx.objectStore(REVOKED).clear();
        tx.objectStore(META).put(0, "counter");
        await committed(tx);
        since = 0;
        continue;
      }
      // Older servers send no `reinstated`; feed order matters, but one number is never in both.
      const reinstated = Array.isArray(body.reinstated) ? body.reinstated : [];
      for (const number of body.revoked) tx.objectStore(REVOKED).put(true, String(number));
      for (const number of reinstated) tx.objectStore(REVOKED).delete(String(number));
      const empty = body.revoked.length === 0 && reinstated.length === 0;
      tx.objectStore(META).put(body.counter, "counter");
      if (empty) tx.objectStore(META).put(new Date().toISOString(), "refreshedAt");
      await committed(tx);
      since = body.counter;
      if (empty) break;
    }
    await this.loadRevocationMeta();
  }

  /** Whether a pass number is on the cached revocation list. */
  async isRevoked(number) {
    if (!this.db) return false;
    const found = await requested(this.db.transaction(REVOKED).objectStore(REVOKED).get(String(number)));
    return found === true;
  }

  /** Hours since the last complete revocation refresh (Infinity if never). */
  revocationsAgeHours(now = Date.now()) {
    const at = this.revocations.refreshedAt;
    return at ? (now - at.getTime()) / 3_600_000 : Infinity;
  }

  // --- the queue of offline scans --------------------------------------------------------

  queue() {
    const items = readJson(this.queueItem, []);
    return Array.isArray(items) ? items : [];
  }

  enqueue(number, result) {
    const items = this.queue();
    items.push({
      id: crypto.randomUUID(),
      number: number || null,
      result,
      scanned_at: new Date().toISOString(), // UTC with "Z": a time zone, as the API asks
    });
    localStorage.setItem(this.queueItem, JSON.stringify(items));
  }

  /** Uploads the queue; the server stores each scan once by its id, so a retry is harmless.
   *  Returns "empty", "sent", or throws (network) / returns "login" (the session has ended). */
  async flush() {
    let items = this.queue();
    if (items.length === 0) return "empty";
    while (items.length) {
      const batch = items.slice(0, UPLOAD_BATCH);
      const response = await this.postScans(batch);
      if (response.status === 401 || response.status === 403) return "login";
      if (response.status === 422) {
        // Only a scan this page wrote wrongly gets here; drop it rather than block the queue.
        console.warn("checkpoint: the server refused offline scans", await response.text());
      } else if (!response.ok) {
        throw new Error(`scans: HTTP ${response.status}`);
      }
      const sent = new Set(batch.map((scan) => scan.id));
      items = this.queue().filter((scan) => !sent.has(scan.id));
      localStorage.setItem(this.queueItem, JSON.stringify(items));
    }
    return "sent";
  }

  async postScans(batch) {
    const post = () =>
      fetch(this.urls.scans, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrfToken() },
        body: JSON.stringify({ scans: batch }),
      });
    let response = await post();
    if (response.status === 400 && this.renewCsrf) {
      // The token of a page served from the offline cache may have expired: get a fresh one.
      if (await this.renewCsrf()) response = await post();
    }
    return response;
  }
}
