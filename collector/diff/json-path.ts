/**
 * Structural comparison of two JSON values with JSONPath-like locations (`$.a.b[3]`,
 * `$['odd key']`) and ignored paths. An ignored path hides its whole subtree; `*` matches
 * any one key or index (`$.items[*].id`, `$.*.updatedAt`).
 */

export type PathSeg = string | number;

export interface JsonDifference {
  path: string;
  /** JSON text of each side; undefined when the side has no value there. */
  production: string | undefined;
  shadow: string | undefined;
}

const WILD = Symbol('*');
type PatternSeg = PathSeg | typeof WILD;

/** Parses `$.a.b[0]['c d'][*].*`; returns null if it is not such a path. */
export function parseJsonPath(p: string): PatternSeg[] | null {
  if (!p.startsWith('$')) return null;
  const out: PatternSeg[] = [];
  let i = 1;
  while (i < p.length) {
    const c = p[i];
    if (c === '.') {
      const m = /^\.([^.[\]]+)/.exec(p.slice(i));
      if (m === null) return null;
      out.push(m[1] === '*' ? WILD : m[1]!);
      i += m[0].length;
    } else if (c === '[') {
      const m = /^\[(?:(\d+)|\*|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(p.slice(i));
      if (m === null) return null;
      if (m[1] !== undefined) out.push(Number(m[1]));
      else if (m[2] !== undefined) out.push(m[2].replace(/\\(.)/g, '$1'));
      else if (m[3] !== undefined) out.push(m[3].replace(/\\(.)/g, '$1'));
      else out.push(WILD);
      i += m[0].length;
    } else return null;
  }
  return out;
}

export function formatJsonPath(segs: readonly PathSeg[]): string {
  let s = '$';
  for (const seg of segs) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) s += `.${seg}`;
    else s += `['${seg.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return s;
}

function matches(pattern: readonly PatternSeg[], path: readonly PathSeg[]): boolean {
  if (pattern.length !== path.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === WILD) continue;
    // `$.a.0` and `$.a[0]` mean the same element.
    if (String(p) !== String(path[i])) return false;
  }
  return true;
}

export class JsonIgnore {
  private readonly patterns: PatternSeg[][];
  constructor(patterns: readonly PatternSeg[][]) {
    this.patterns = patterns.slice();
  }
  /** Parses each path; throws a RangeError naming the first bad one. */
  static parse(paths: readonly string[]): JsonIgnore {
    const out: PatternSeg[][] = [];
    for (const p of paths) {
      const segs = parseJsonPath(p);
      if (segs === null) throw new RangeError(`not a JSON path: "${p}" (use $.a.b, $.items[0], $.items[*].id, $['a key'])`);
      out.push(segs);
    }
    return new JsonIgnore(out);
  }
  ignored(path: readonly PathSeg[]): boolean {
    for (const p of this.patterns) if (matches(p, path)) return true;
    return false;
  }
}

function text(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** Differences between two parsed JSON values, at most `max`; object key order does not matter, array order does. */
export function diffJson(a: unknown, b: unknown, ignore: JsonIgnore, max = 20): JsonDifference[] {
  const out: JsonDifference[] = [];
  const path: PathSeg[] = [];
  const walk = (x: unknown, y: unknown): void => {
    if (out.length >= max || ignore.ignored(path)) return;
    const xa = Array.isArray(x);
    const ya = Array.isArray(y);
    const xo = x !== null && typeof x === 'object' && !xa;
    const yo = y !== null && typeof y === 'object' && !ya;
    if (xa && ya) {
      const xs = x as unknown[];
      const ys = y as unknown[];
      const n = Math.max(xs.length, ys.length);
      for (let i = 0; i < n && out.length < max; i++) {
        path.push(i);
        if (i >= xs.length) {
          if (!ignore.ignored(path)) out.push({ path: formatJsonPath(path), production: undefined, shadow: text(ys[i]) });
        } else if (i >= ys.length) {
          if (!ignore.ignored(path)) out.push({ path: formatJsonPath(path), production: text(xs[i]), shadow: undefined });
        } else walk(xs[i], ys[i]);
        path.pop();
      }
      return;
    }
    if (xo && yo) {
      const xr = x as Record<string, unknown>;
      const yr = y as Record<string, unknown>;
      const keys = new Set([...Object.keys(xr), ...Object.keys(yr)]);
      for (const k of keys) {
        if (out.length >= max) return;
        path.push(k);
        const inX = Object.prototype.hasOwnProperty.call(xr, k);
        const inY = Object.prototype.hasOwnProperty.call(yr, k);
        if (!inY) {
          if (!ignore.ignored(path)) out.push({ path: formatJsonPath(path), production: text(xr[k]), shadow: undefined });
        } else if (!inX) {
          if (!ignore.ignored(path)) out.push({ path: formatJsonPath(path), production: undefined, shadow: text(yr[k]) });
        } else walk(xr[k], yr[k]);
        path.pop();
      }
      return;
    }
    if (xa || ya || xo || yo || !Object.is(x, y)) {
      // Numbers compare by value (1.0 and 1 parse equal); different types are different.
      if (typeof x === 'number' && typeof y === 'number' && x === y) return;
      out.push({ path: formatJsonPath(path), production: text(x), shadow: text(y) });
    }
  };
  walk(a, b);
  return out;
}
