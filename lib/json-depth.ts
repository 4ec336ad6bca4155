/**
 * How deep parsed input may nest. JSON.parse builds values of any depth without trouble, but every
 * recursive walker over them (canonical JSON, output formatting, JSON.stringify itself, which fails
 * near 5,000 levels on Node 20) runs on the call stack, and a RangeError from deep inside a batch
 * takes the whole batch down. So parsers refuse input nested deeper than this with INPUT_TOO_DEEP,
 * and the walkers refuse it too (JsonDepthError) instead of overflowing the stack.
 *
 * 256 levels is far beyond any real Kubernetes object, CloudTrail record or CloudWatch payload (a
 * CRD's OpenAPI schema, the deepest real document the audit log can carry, stays under 50), and far
 * below what the stack holds with the walkers' frames.
 */
export const MAX_JSON_DEPTH = 256;

export class JsonDepthError extends Error {
  constructor(
    readonly limit: number,
    options?: { cause?: unknown },
  ) {
    super(`value nested deeper than ${limit} levels`, options);
    this.name = 'JsonDepthError';
  }
}

/**
 * True when `value` has objects or arrays nested deeper than `max` levels (a scalar is depth 0, `{}`
 * depth 1). Iterative, so it never overflows the stack itself; a cyclic value counts as too deep.
 */
export const exceedsJsonDepth = (value: unknown, max: number = MAX_JSON_DEPTH): boolean => {
  if (typeof value !== 'object' || value === null) return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop() as object;
    const d = depths.pop() as number;
    if (d > max) return true;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i];
        if (typeof c === 'object' && c !== null) {
          values.push(c);
          depths.push(d + 1);
        }
      }
    } else if (!(v instanceof Uint8Array)) {
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const c: unknown = (v as Record<string, unknown>)[k];
        if (typeof c === 'object' && c !== null) {
          values.push(c);
          depths.push(d + 1);
        }
      }
    }
  }
  return false;
};

/** For recursive walkers: call on entry with the depth reached; throws past the limit. */
export const checkDepth = (depth: number, max: number = MAX_JSON_DEPTH): void => {
  if (depth > max) throw new JsonDepthError(max);
};

const TOO_DEEP_MARK = '"[nested too deep]"';

/**
 * JSON text of `value` with every subtree below `max` levels replaced by the string
 * "[nested too deep]": the raw text kept with a record refused as INPUT_TOO_DEEP, still recognisably
 * that record. Also safe on cycles (cut at the limit) and on values JSON.stringify refuses (BigInt).
 */
export const boundedJsonText = (value: unknown, max: number = MAX_JSON_DEPTH): string => {
  const render = (v: unknown, depth: number): string => {
    if (typeof v === 'bigint') return JSON.stringify(v.toString());
    if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? 'null';
    if (depth >= max) return TOO_DEEP_MARK;
    if (Array.isArray(v)) return `[${v.map((x) => render(x, depth + 1)).join(',')}]`;
    if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
    const parts: string[] = [];
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const c: unknown = (v as Record<string, unknown>)[k];
      if (c === undefined || typeof c === 'function' || typeof c === 'symbol') continue;
      parts.push(`${JSON.stringify(k)}:${render(c, depth + 1)}`);
    }
    return `{${parts.join(',')}}`;
  };
  return render(value, 0);
};

class Literal {
  constructor(readonly text: string) {}
}

/**
 * JSON.stringify without recursion, for parsed JSON values of any depth (plain objects, arrays,
 * scalars): a value too deep to walk can still be handed on as text, to be refused where it is parsed
 * (INPUT_TOO_DEEP) with its raw text intact, instead of overflowing the stack here.
 */
export const jsonTextOf = (value: unknown): string => {
  const parts: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof Literal) parts.push(v.text);
    else if (typeof v !== 'object' || v === null) parts.push(JSON.stringify(v) ?? 'null');
    else if (Array.isArray(v)) {
      parts.push('[');
      stack.push(new Literal(']'));
      for (let i = v.length - 1; i >= 0; i--) {
        const item: unknown = v[i];
        stack.push(item === undefined || typeof item === 'function' ? null : item);
        if (i > 0) stack.push(new Literal(','));
      }
    } else {
      parts.push('{');
      stack.push(new Literal('}'));
      const keys = Object.keys(v).filter((k) => {
        const c: unknown = (v as Record<string, unknown>)[k];
        return c !== undefined && typeof c !== 'function' && typeof c !== 'symbol';
      });
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        stack.push((v as Record<string, unknown>)[k]);
        stack.push(new Literal(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`));
      }
    }
  }
  return parts.join('');
};
