/**
 * The dedup window during a fold: the item's `recent` string (see
 * readModelItem.ts) read and appended to without rebuilding it per event, and
 * the data hash each entry carries, so that a reused Idempotency-Key with
 * another body is told from a producer retry.
 */
import { eventDataHash } from "../commands/digest";
import { RECENT_SEPARATOR, recentCount, recentLookup } from "../shared/readModelItem";

// The digest lives in shared/ because the API and the producer library check a reused Idempotency-Key with it too.
export { eventDataHash };

/**
 * The window as the stored `recent` (its entries before `start` evicted) followed by the entries
 * `added` by this fold (those before `addedStart` evicted). `count` (live entries) is counted at
 * the first append. Joined once, by `windowString`.
 */
export interface FoldWindow {
  stored: string;
  start: number;
  added: string;
  addedStart: number;
  count: number;
}

/** The window over a stored `recent` string. */
export function foldWindow(recent: string): FoldWindow {
  return { stored: recent, start: 0, added: "", addedStart: 0, count: -1 };
}

/** The data hash of `eventId`'s newest live entry ("" when it has none), undefined when not in the window. */
export function windowLookup(w: FoldWindow, eventId: string): string | undefined {
  if (w.added !== "") {
    const hash = recentLookup(w.added, eventId, w.addedStart);
    if (hash !== undefined) return hash;
  }
  return w.start < w.stored.length ? recentLookup(w.stored, eventId, w.start) : undefined;
}

/** Appends an entry, evicting the oldest beyond `max`. */
export function windowPush(w: FoldWindow, entry: string, max: number): void {
  if (w.count < 0) w.count = recentCount(w.stored);
  w.added = w.added === "" ? entry : w.added + RECENT_SEPARATOR + entry;
  for (w.count += 1; w.count > max; w.count--) {
    if (w.start < w.stored.length) {
      const sep = w.stored.indexOf(RECENT_SEPARATOR, w.start);
      w.start = sep < 0 ? w.stored.length : sep + 1;
    } else {
      const sep = w.added.indexOf(RECENT_SEPARATOR, w.addedStart);
      if (sep >= 0) w.addedStart = sep + 1;
      else {
        w.added = "";
        w.addedStart = 0;
      }
    }
  }
}

/** The live window as one string (the `recent` attribute). */
export function windowString(w: FoldWindow): string {
  const stored = w.start === 0 ? w.stored : w.start >= w.stored.length ? "" : w.stored.slice(w.start);
  const added = w.addedStart === 0 ? w.added : w.added.slice(w.addedStart);
  return stored === "" ? added : added === "" ? stored : stored + RECENT_SEPARATOR + added;
}
