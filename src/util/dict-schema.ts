/**
 * `z.record` silently drops a `__proto__` key (zod guards its own output object), so a label,
 * host, service or tag named `__proto__` would vanish at the boundary and reappear as drift.
 * `dictOf` validates every key and value like `z.record` and returns a prototype-less `dict()`
 * that keeps every key as data. Issues carry the entry's key in their path, as `z.record`'s do.
 */
import { z } from 'zod';
import { dict } from './dict.js';

export function dictOf<V extends z.ZodType>(key: z.ZodType<string>, value: V): z.ZodType<Record<string, z.output<V>>, unknown> {
  return z.unknown().transform((input, ctx) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      ctx.addIssue({ code: 'custom', message: `Invalid input: expected record, received ${input === null ? 'null' : Array.isArray(input) ? 'array' : typeof input}` });
      return z.NEVER;
    }
    const out = dict<z.output<V>>();
    let ok = true;
    for (const [k, v] of Object.entries(input)) {
      const kr = key.safeParse(k);
      const vr = value.safeParse(v);
      for (const r of [kr, vr]) {
        if (r.success) continue;
        ok = false;
        // Value issues keep their code and details (unknown keys, enum options) under the entry's path.
        for (const i of r.error.issues) {
          if (r === kr) ctx.addIssue({ code: 'custom', message: `Invalid key in record: ${i.message}`, path: [k] });
          else ctx.addIssue({ ...i, path: [k, ...i.path] });
        }
      }
      if (kr.success && vr.success) out[kr.data] = vr.data;
    }
    return ok ? out : z.NEVER;
  });
}
