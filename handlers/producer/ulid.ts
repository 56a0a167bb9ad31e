/**
 * Event ids: ULIDs (time-ordered, 26 Crockford base32 characters) for plain
 * requests, and ids derived from the client's Idempotency-Key for retries.
 * No dependency; state lives in closures, never at module level, so the
 * code survives Pulumi's closure serialisation.
 */
import { createHash, randomBytes } from "crypto";

/** Crockford's base32 alphabet (no I, L, O, U). */
export const CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID: 10 time characters (48-bit milliseconds) then 16 random characters. */
export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** Prefix of ids derived from an Idempotency-Key, so they never look like (or collide with) ULIDs. */
export const IDEMPOTENT_ID_PREFIX = "idem-";

const MAX_ULID_TIME = 2 ** 48 - 1;

/** Sources of time and randomness, injectable for tests. */
export interface UlidSources {
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** `n` random bytes. */
  random?: (n: number) => Uint8Array;
}

function encodeTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_ULID_TIME) throw new Error(`time ${ms} cannot be encoded in a ULID`);
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD_ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/**
 * Returns a monotonic ULID generator: ids from one generator strictly increase,
 * even within one millisecond or when the clock steps back (the random part is
 * then incremented, as the ULID spec's monotonic mode does).
 */
export function createUlidGenerator(sources: UlidSources = {}): (timeMs?: number) => string {
  const now = sources.now ?? Date.now;
  const random = sources.random ?? ((n: number) => randomBytes(n));
  // Per-generator state, captured by the returned closure.
  let lastTime = -1;
  let lastRandom: number[] = [];

  return (timeMs?: number) => {
    const time = timeMs ?? now();
    if (time > lastTime) {
      const bytes = random(16);
      // 256 is a multiple of 32, so masking keeps every digit uniform.
      lastRandom = Array.from(bytes.subarray(0, 16), (b) => b & 31);
      lastTime = time;
    } else {
      let i = lastRandom.length - 1;
      while (i >= 0 && lastRandom[i] === 31) lastRandom[i--] = 0;
      if (i < 0) throw new Error("ULID random part overflowed within one millisecond");
      lastRandom[i] += 1;
    }
    return encodeTime(lastTime) + lastRandom.map((d) => CROCKFORD_ALPHABET[d]).join("");
  };
}

/** The millisecond timestamp a ULID carries. */
export function ulidTime(ulid: string): number {
  if (!ULID_PATTERN.test(ulid)) throw new Error(`not a ULID: ${ulid}`);
  let ms = 0;
  for (const c of ulid.slice(0, 10)) ms = ms * 32 + CROCKFORD_ALPHABET.indexOf(c);
  return ms;
}

/**
 * The event id for a request carrying an Idempotency-Key: deterministic, so a
 * retried request yields the same id and the projector drops the duplicate.
 * `idem-` plus 32 base32 characters (160 bits of sha256): matches ID_PATTERN.
 */
export function idempotentEventId(aggregateId: string, idempotencyKey: string): string {
  const digest = createHash("sha256").update(`${aggregateId}\n${idempotencyKey}`, "utf8").digest();
  let out = "";
  // 20 bytes = 160 bits = 32 five-bit digits, read 5 bytes (40 bits) at a time.
  for (let i = 0; i < 20; i += 5) {
    let chunk = 0;
    for (let j = 0; j < 5; j++) chunk = chunk * 256 + digest[i + j];
    let group = "";
    for (let k = 0; k < 8; k++) {
      group = CROCKFORD_ALPHABET[chunk % 32] + group;
      chunk = Math.floor(chunk / 32);
    }
    out += group;
  }
  return IDEMPOTENT_ID_PREFIX + out;
}
