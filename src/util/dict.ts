/**
 * Names from outside (Compose projects, stacks, services, labels, env keys, hosts) are data,
 * never object keys with a meaning: on a plain `{}`, `constructor` or `toString` read as
 * Object.prototype's functions and `obj.__proto__ = v` replaces the prototype instead of
 * storing a key. Every map keyed by such names is a `dict()` (no prototype), and lookups in
 * objects that may come from elsewhere go through `own()`.
 */

/** An empty map-like object without a prototype, optionally filled from entries. */
export function dict<T>(entries?: Iterable<readonly [string, T]>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  if (entries) for (const [k, v] of entries) out[k] = v;
  return out;
}

/** `obj[key]` when `key` is the object's own property, never an inherited one. */
export function own<T>(obj: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** The value under `key`, created by `make` when absent (`obj[key] ??= make()` without inherited keys). */
export function ownOrSet<T>(obj: Record<string, T>, key: string, make: () => T): T {
  if (Object.hasOwn(obj, key)) return obj[key] as T;
  const v = make();
  Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
  return v;
}

/** Stores `obj[key] = value` as an own property even for `__proto__` on a plain object. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A parsed YAML/JSON mapping (not null, not an array): the shape whose keys are names from outside. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
