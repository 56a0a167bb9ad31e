/**
 * Strict JSON for commands: what `JSON.parse` lets through silently and a
 * command must not carry. Duplicate keys (JSON.parse keeps the last, so two
 * readers of one body could disagree) are found in one linear pass over the
 * text, which also measures nesting; non-finite numbers (`1e400` parses to
 * Infinity, which JSON.stringify writes as null) in one walk of the value.
 * Plain functions, no module-level state: they are serialised into the API.
 */

/** What one pass over a JSON text found: its deepest nesting (stopping past the limit) and the first duplicate key's path. */
export interface JsonScan {
  depth: number;
  /** Path of the first key an object repeats, e.g. `data.lines[1].sku`. */
  duplicateKey?: string;
}

/** A path segment as people read it: `.key`, `["odd key"]` or `[3]`. */
export function pathSegment(key: string | number): string {
  if (typeof key === "number") return `[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

interface Frame {
  /** Keys seen so far (objects), undefined for arrays. */
  keys?: Set<string>;
  /** The segment that leads to this container from its parent. */
  segment: string;
  /** Objects: the next string is a key. Arrays: the index of the current element. */
  expectKey: boolean;
  index: number;
  lastKey?: string;
}

function pathOf(stack: Frame[], last: string): string {
  let out = "";
  for (const f of stack) out += f.segment;
  return (out + last).replace(/^\./, "");
}

function keyText(raw: string): string | undefined {
  if (raw.indexOf("\\") < 0) return raw.slice(1, -1);
  try {
    return JSON.parse(raw) as string;
  } catch {
    return undefined; // malformed: JSON.parse reports it afterwards
  }
}

/**
 * One linear pass over `text` (no recursion, so a 100k-deep body costs nothing): the deepest nesting of
 * `[`/`{` outside strings, stopping once it passes `limit`, and the first duplicate key. Malformed text is
 * scanned as far as it goes; JSON.parse reports what is wrong with it.
 */
export function scanJson(text: string, limit: number): JsonScan {
  const stack: Frame[] = [];
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = keyText(text.slice(start, i + 1));
        if (key === undefined) continue;
        if (top.keys.has(key)) return { depth: max, duplicateKey: pathOf(stack, pathSegment(key)) };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
    } else if (c === 123 || c === 91) {
      const parent = stack[stack.length - 1];
      const segment = parent === undefined ? "" : parent.keys ? pathSegment(parent.lastKey ?? "") : pathSegment(parent.index);
      stack.push({ keys: c === 123 ? new Set() : undefined, segment, expectKey: c === 123, index: 0 });
      if (stack.length > max) max = stack.length;
      if (max > limit) return { depth: max };
    } else if (c === 125 || c === 93) stack.pop();
    else if (c === 44) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return { depth: max };
}

/** The path of the first number in `value` that is NaN or ±Infinity (JSON would write null), or undefined. Iterative. */
export function nonFiniteNumberPath(value: unknown, root = "data"): string | undefined {
  const todo: [unknown, string][] = [[value, root]];
  while (todo.length > 0) {
    const [v, path] = todo.pop() as [unknown, string];
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return path;
    } else if (Array.isArray(v)) v.forEach((e, i) => todo.push([e, path + pathSegment(i)]));
    else if (typeof v === "object" && v !== null) for (const k of Object.keys(v)) todo.push([(v as Record<string, unknown>)[k], path + pathSegment(k)]);
  }
  return undefined;
}
