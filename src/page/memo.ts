/**
 * Page views must not each cost a drift-check: answers are kept for `ttlMs` per key and
 * concurrent views of the same key share one computation. A failed computation is not kept.
 */
export function memo<T>(ttlMs: number, compute: (key: string) => Promise<T>, maxKeys = 64, now: () => number = Date.now): (key: string) => Promise<T> {
  const cache = new Map<string, { at: number; value: Promise<T> }>();
  return (key) => {
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    if (cache.size >= maxKeys) cache.delete(cache.keys().next().value as string);
    const value = compute(key);
    cache.set(key, { at: now(), value });
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  };
}
