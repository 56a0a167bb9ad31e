/**
 * HTTP API route keys and API Gateway's route selection: the most specific
 * route wins (a literal segment over `{param}` over a greedy `{proxy+}`, an
 * exact method over ANY), and `$default` catches what no route matches.
 */

/** A parsed route key. */
export interface Route {
  routeKey: string;
  method: string;
  /** Literal segments, `{name}`, or a final `{name+}`. */
  segments: string[];
}

/** The declared routes and whether `$default` is among them. */
export interface RouteTable {
  routes: Route[];
  hasDefault: boolean;
}

/** Parses declared route keys; throws on one API Gateway would reject. */
export function parseRoutes(routeKeys: string[]): RouteTable {
  const routes: Route[] = [];
  let hasDefault = false;
  for (const routeKey of routeKeys) {
    if (routeKey === "$default") {
      hasDefault = true;
      continue;
    }
    const m = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (\/\S*)$/.exec(routeKey);
    if (!m) throw new Error(`route key ${JSON.stringify(routeKey)} is not "METHOD /path" or "$default"`);
    const segments = m[2].split("/").slice(1);
    segments.forEach((s, i) => {
      if (/^\{[\w.-]+\+\}$/.test(s) && i !== segments.length - 1) throw new Error(`route ${routeKey}: a greedy {name+} must be the last segment`);
    });
    routes.push({ routeKey, method: m[1], segments });
  }
  return { routes, hasDefault };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Per-segment specificity (literal 3, param 2, greedy 1), then 1 for an exact method. */
function score(route: Route): number[] {
  return [...route.segments.map((s) => (/^\{.*\+\}$/.test(s) ? 1 : /^\{.*\}$/.test(s) ? 2 : 3)), route.method === "ANY" ? 0 : 1];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

function bind(route: Route, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const seg = route.segments[i];
    const greedy = /^\{([\w.-]+)\+\}$/.exec(seg);
    if (greedy) {
      const restParts = parts.slice(i);
      if (restParts.length === 0 || restParts.join("") === "") return undefined;
      params[greedy[1]] = decode(restParts.join("/"));
      return params;
    }
    if (i >= parts.length) return undefined;
    const param = /^\{([\w.-]+)\}$/.exec(seg);
    if (param) {
      if (parts[i] === "") return undefined;
      params[param[1]] = decode(parts[i]);
    } else if (seg !== parts[i]) return undefined;
  }
  return parts.length === route.segments.length ? params : undefined;
}

/** The route for a request, with its path parameters; `$default` when declared and nothing else matches. */
export function matchRoute(table: RouteTable, method: string, path: string): { routeKey: string; pathParameters?: Record<string, string> } | undefined {
  const parts = path.split("/").slice(1);
  let best: { route: Route; params: Record<string, string> } | undefined;
  for (const route of table.routes) {
    if (route.method !== "ANY" && route.method !== method.toUpperCase()) continue;
    const params = bind(route, parts);
    if (params && (!best || compare(score(route), score(best.route)) > 0)) best = { route, params };
  }
  if (best) return { routeKey: best.route.routeKey, pathParameters: best.params };
  return table.hasDefault ? { routeKey: "$default" } : undefined;
}
