// PP1 pass verification in the browser, for checkpoints without network.
//
// The contract is docs/pass-format.md; the reference is permits/passes/token.py, whose steps
// and result names this module follows one by one:
//
//   "PP1:" + Base45( zlib( COSE_Sign1( CWT claims ) ) ), signed ES256 (ECDSA P-256, SHA-256)
//
// Everything here is plain standard JavaScript: DecompressionStream for zlib and WebCrypto
// for the signature, plus a small CBOR decoder and the one CBOR encoding a verifier needs
// (the Sig_structure). No network: the keys and the revocation list come from the caller.

export const PREFIX = "PP1:";
export const MAX_TEXT_LENGTH = 8192;
export const MAX_DECOMPRESSED_SIZE = 64 * 1024;

const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_CRIT = 2;
const HEADER_KID = 4;
const ES256 = -7;
const CWT_ISS = 1;
const CWT_EXP = 4;
const CWT_NBF = 5;
const CWT_IAT = 6;
const CWT_CTI = 7;
const CLAIM_KEY = -70001;
const SCHEMA_VERSION = 1;
const KINDS = new Set(["VP", "WR"]);

/** The token cannot be read; `message` is the short English detail (logs and tests only). */
class Malformed extends Error {}

// --- Base45 (RFC 9285) ---------------------------------------------------------------------

const B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const B45_VALUE = new Map([...B45_ALPHABET].map((c, i) => [c, i]));

/** Strict Base45: only the 45 characters, no length ≡ 1 (mod 3), no group above its range. */
export function base45Decode(text) {
  if (text.length % 3 === 1) throw new Malformed("bad base45");
  const values = [];
  for (const c of text) {
    const v = B45_VALUE.get(c);
    if (v === undefined) throw new Malformed("bad base45");
    values.push(v);
  }
  const out = new Uint8Array(Math.floor(values.length / 3) * 2 + (values.length % 3 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      // Three characters c d e are the 16-bit value c + 45·d + 45²·e, big-endian.
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) throw new Malformed("bad base45");
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      // A final pair is one byte.
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) throw new Malformed("bad base45");
      out[o++] = n;
    }
  }
  return out;
}

// --- zlib (RFC 1950) -----------------------------------------------------------------------

/** One complete zlib stream and nothing after it, at most MAX_DECOMPRESSED_SIZE bytes out.
 *  DecompressionStream("deflate") is the zlib format (header and Adler-32 checked); it errors
 *  on a truncated stream and on bytes after its end. */
export async function inflate(data) {
  if (typeof DecompressionStream !== "function") throw new Malformed("no zlib in this browser");
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  // These settle (or reject) as the reader drains; their errors surface through read().
  writer.write(data).catch(() => {});
  writer.close().catch(() => {});
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_DECOMPRESSED_SIZE) {
        reader.cancel().catch(() => {});
        throw new Malformed("too large when decompressed");
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof Malformed) throw error;
    throw new Malformed("bad zlib");
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const chunk of chunks) {
    out.set(chunk, o);
    o += chunk.length;
  }
  return out;
}

// --- CBOR (RFC 8949), the subset PP1 uses ---------------------------------------------------
//
// Every data item starts with one byte: the major type in the top 3 bits, and in the low 5
// bits ("additional information") either the value itself (0–23) or how many bytes follow
// with it (24 → 1, 25 → 2, 26 → 4, 27 → 8), big-endian.
//
//   major 0 unsigned int   1 negative int (−1 − n)   2 byte string   3 text string (UTF-8)
//         4 array          5 map                     6 tag           7 simple values, floats
//
// Decoded as: numbers (integers), Uint8Array, string, Array, Map (keys: integers or text),
// CborTag, true/false/null/undefined, and CborFloat for floats (a float is never an integer
// claim: Python's reference tells 1.0 from 1, and so must we). Indefinite lengths (additional
// information 31) are refused: the issuer encodes deterministically and never uses them, and
// a token whose signature verifies was made by the issuer.

export class CborTag {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

export class CborFloat {
  constructor(value) {
    this.value = value;
  }
}

const MAX_DEPTH = 32;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Exactly one CBOR data item that uses every byte of `bytes`. */
export function cborDecode(bytes, detail = "bad cbor") {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;

  function need(n) {
    if (pos + n > bytes.length) throw new Malformed(detail);
  }

  /** The argument of a head: the value or length that the additional information gives. */
  function argument(info) {
    if (info < 24) return info;
    if (info === 24) {
      need(1);
      return bytes[pos++];
    }
    if (info === 25) {
      need(2);
      pos += 2;
      return view.getUint16(pos - 2);
    }
    if (info === 26) {
      need(4);
      pos += 4;
      return view.getUint32(pos - 4);
    }
    if (info === 27) {
      need(8);
      pos += 8;
      const big = view.getBigUint64(pos - 8);
      // Beyond 2^53 a JavaScript number is not exact; keep such a value as a BigInt, which no
      // check below accepts as an integer claim (and no length can be that large anyway).
      return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    throw new Malformed(detail); // 28–30 reserved, 31 indefinite length
  }

  function length(info) {
    const n = argument(info);
    if (typeof n !== "number") throw new Malformed(detail);
    return n;
  }

  function item(depth) {
    if (depth > MAX_DEPTH) throw new Malformed(detail);
    need(1);
    const initial = bytes[pos++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return argument(info);
      case 1: {
        const n = argument(info);
        return typeof n === "bigint" ? -1n - n : -1 - n;
      }
      case 2: {
        const n = length(info);
        need(n);
        pos += n;
        return bytes.slice(pos - n, pos);
      }
      case 3: {
        const n = length(info);
        need(n);
        pos += n;
        try {
          return UTF8.decode(bytes.subarray(pos - n, pos));
        } catch {
          throw new Malformed(detail);
        }
      }
      case 4: {
        const n = length(info);
        need(n); // every item is at least one byte: refuse absurd lengths before looping
        const array = [];
        for (let i = 0; i < n; i++) array.push(item(depth + 1));
        return array;
      }
      case 5: {
        const n = length(info);
        need(2 * n);
        const map = new Map();
        for (let i = 0; i < n; i++) {
          const key = item(depth + 1);
          // PP1 keys are integers or text; anything else cannot be looked up, so refuse it.
          if (!(Number.isInteger(key) || typeof key === "string")) throw new Malformed(detail);
          map.set(key, item(depth + 1)); // a repeated key: the last one wins, as in cbor2
        }
        return map;
      }
      case 6: {
        const tag = argument(info);
        return new CborTag(tag, item(depth + 1));
      }
      default: {
        // major 7
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 23) return undefined;
        if (info === 25) {
          need(2);
          pos += 2;
          return new CborFloat(halfToNumber(view.getUint16(pos - 2)));
        }
        if (info === 26) {
          need(4);
          pos += 4;
          return new CborFloat(view.getFloat32(pos - 4));
        }
        if (info === 27) {
          need(8);
          pos += 8;
          return new CborFloat(view.getFloat64(pos - 8));
        }
        throw new Malformed(detail); // other simple values, and the "break" byte
      }
    }
  }

  const value = item(0);
  if (pos !== bytes.length) throw new Malformed(detail);
  return value;
}

function halfToNumber(half) {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The head of a CBOR item: major type and argument, in the shortest form. */
function cborHead(major, n) {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  return [m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/** The bytes an ES256 signature covers (RFC 9052 §4.4), with an empty external AAD:
 *
 *    Sig_structure = [ "Signature1", protected, h'', payload ]
 *
 *  i.e. 84 6A "Signature1" <protected as a byte string> 40 <payload as a byte string>.
 *  The protected header and payload are the bytes as received, never re-encoded. */
export function sigStructure(protectedBytes, payload) {
  const context = new TextEncoder().encode("Signature1");
  const parts = [
    cborHead(4, 4),
    cborHead(3, context.length),
    context,
    cborHead(2, protectedBytes.length),
    protectedBytes,
    cborHead(2, 0),
    cborHead(2, payload.length),
    payload,
  ];
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

// --- Keys ----------------------------------------------------------------------------------

export function base64url(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** kid (base64url) → CryptoKey for every P-256 key of a JWKS. Only these keys are ever used:
 *  a key, certificate or URL inside a token never is. */
export async function importKeys(jwks) {
  const keys = new Map();
  for (const jwk of (jwks && jwks.keys) || []) {
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.kid !== "string") continue;
    try {
      const key = await crypto.subtle.importKey(
        "jwk",
        { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      keys.set(jwk.kid, key);
    } catch {
      // A key this browser cannot import is as good as unknown.
    }
  }
  return keys;
}

// --- Verification --------------------------------------------------------------------------

function isInt(value) {
  return Number.isInteger(value);
}

function isBytes(value) {
  return value instanceof Uint8Array;
}

/** `map[key]` if absent or of its type (`check`), else Malformed; absent gives undefined. */
function optional(map, key, check) {
  if (!map.has(key)) return undefined;
  const value = map.get(key);
  if (!check(value)) throw new Malformed("missing claims");
  return value;
}

function required(map, key, check) {
  const value = optional(map, key, check);
  if (value === undefined) throw new Malformed("missing claims");
  return value;
}

const isText = (v) => typeof v === "string";

function bytesEqual(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The pass claims of a CWT map, each present and of its type (token._claims_from). */
function claimsFrom(cwt) {
  if (!(cwt instanceof Map)) throw new Malformed("missing claims");
  const fields = cwt.get(CLAIM_KEY);
  if (!(fields instanceof Map)) throw new Malformed("missing claims");
  if (required(fields, "v", isInt) !== SCHEMA_VERSION) {
    throw new Malformed("unsupported claims version");
  }
  const kind = required(fields, "t", isText);
  if (!KINDS.has(kind)) throw new Malformed("unknown pass kind");
  const number = required(fields, "no", isText);
  if (!bytesEqual(required(cwt, CWT_CTI, isBytes), new TextEncoder().encode(number))) {
    throw new Malformed("cti does not match pass number");
  }
  const drivers = optional(fields, "dr", Array.isArray) || [];
  for (const driver of drivers) {
    if (!(Array.isArray(driver) && driver.length === 2 && driver.every(isText))) {
      throw new Malformed("missing claims");
    }
  }
  return {
    issuer: required(cwt, CWT_ISS, isText),
    issued_at: required(cwt, CWT_IAT, isInt),
    not_before: required(cwt, CWT_NBF, isInt),
    expires: required(cwt, CWT_EXP, isInt),
    number,
    control_code: required(fields, "cc", isText),
    kind,
    enterprise: required(fields, "ent", isText),
    uscc: required(fields, "uscc", isText),
    plate: optional(fields, "pl", isText) ?? null,
    origin: optional(fields, "fr", isText) ?? null,
    destination: optional(fields, "to", isText) ?? null,
    cargo: optional(fields, "cg", isText) ?? null,
    drivers: drivers.map(([name, last4]) => [name, last4]),
    site: optional(fields, "site", isText) ?? null,
    district: optional(fields, "dist", isText) ?? null,
    staff: optional(fields, "staff", isInt) ?? null,
  };
}

async function verifySteps(text, keys, now) {
  // 1. prefix; 2. length.
  if (typeof text !== "string") throw new Malformed("not text");
  text = text.trim();
  if (!text.startsWith(PREFIX)) return { result: "wrong_prefix", detail: "does not start with PP1:" };
  if (text.length > MAX_TEXT_LENGTH) throw new Malformed("too long");
  // 3. Base45; 4. zlib; 5. CBOR.
  const compressed = base45Decode(text.slice(PREFIX.length));
  const message = cborDecode(await inflate(compressed), "bad cbor");

  // 6. COSE_Sign1: tag 18 around [protected bstr, unprotected map, payload bstr, signature bstr].
  if (!(message instanceof CborTag && message.tag === COSE_SIGN1_TAG)) {
    throw new Malformed("bad COSE structure");
  }
  const parts = message.value;
  if (!(Array.isArray(parts) && parts.length === 4)) throw new Malformed("bad COSE structure");
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!(isBytes(protectedBytes) && unprotected instanceof Map && isBytes(payload) && isBytes(signature))) {
    throw new Malformed("bad COSE structure");
  }

  // 7. Protected header {1: -7, 4: kid}: ES256 only, no crit, a non-empty kid.
  const header = cborDecode(protectedBytes, "bad protected header");
  if (!(header instanceof Map)) throw new Malformed("bad protected header");
  if (header.get(HEADER_ALG) !== ES256) throw new Malformed("unsupported alg");
  if (header.has(HEADER_CRIT)) throw new Malformed("critical header not understood");
  const kidBytes = header.get(HEADER_KID);
  if (!isBytes(kidBytes) || kidBytes.length === 0) throw new Malformed("missing kid");
  const kid = base64url(kidBytes);

  // 8. The kid names one of our own keys (the unprotected header is never looked at).
  const key = keys.get(kid);
  if (!key) return { result: "unknown_key", kid, detail: "unknown kid" };
  // 9. The signature: raw r ‖ s, which is the form WebCrypto's ECDSA takes.
  if (signature.length !== 64) return { result: "bad_signature", kid, detail: "signature is not 64 bytes" };
  let good = false;
  try {
    good = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      signature,
      sigStructure(protectedBytes, payload),
    );
  } catch {
    good = false;
  }
  if (!good) return { result: "bad_signature", kid, detail: "signature does not verify" };

  // 10. The claims, now known to be ours.
  const claims = claimsFrom(cborDecode(payload, "missing claims"));
  return { result: "valid", kid, claims, detail: "" };
}

/**
 * Verifies a scanned text the way the service does, without the network.
 *
 * keys: Map of kid (base64url) → CryptoKey (see importKeys); now: epoch seconds;
 * isRevoked: async (number) → boolean, the cached revocation list (step 11).
 * Returns {result, claims?, kid?, detail}; `result` is one of the service's names. Never throws.
 */
export async function verify(text, keys, now, isRevoked = async () => false) {
  let checked;
  try {
    checked = await verifySteps(text, keys, now);
  } catch (error) {
    return { result: "malformed", detail: error instanceof Malformed ? error.message : "unreadable input" };
  }
  if (!checked.claims) return checked;
  const { claims } = checked;
  // 11. Revocation first (the service answers "revoked" whatever the dates); 12–14 the dates.
  if (await isRevoked(claims.number)) return { ...checked, result: "revoked", detail: "on the revocation list" };
  if (now < claims.not_before) return { ...checked, result: "not_yet_valid", detail: "before nbf" };
  if (now >= claims.expires) return { ...checked, result: "expired", detail: "at or after exp" };
  return checked;
}

/** The date (YYYY-MM-DD) of an epoch second in a time zone. */
function isoDate(epochSeconds, timeZone) {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
    new Date(epochSeconds * 1000),
  );
}

/** Claims in the shape of the service's `pass` facts, so that one view shows both.
 *  exp is 00:00 of the day after the last valid day, so the last day is the day of exp − 1 s. */
export function factsFromClaims(claims, timeZone = "Asia/Shanghai") {
  const facts = {
    kind: claims.kind === "VP" ? "vehicle_pass" : "work_resumption",
    number: claims.number,
    valid_from: isoDate(claims.not_before, timeZone),
    valid_until: isoDate(claims.expires - 1, timeZone),
    enterprise: claims.enterprise,
  };
  if (claims.kind === "VP") {
    Object.assign(facts, {
      plate: claims.plate,
      origin: claims.origin,
      destination: claims.destination,
      cargo_category: claims.cargo,
      drivers: claims.drivers.map(([name, last4]) => ({ name, id_last4: last4 })),
    });
  } else {
    Object.assign(facts, { site: claims.site, district: claims.district, staff_on_site: claims.staff });
  }
  return facts;
}
