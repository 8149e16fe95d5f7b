/**
 * A value built on first use, then kept: `lazy(() => z.object(...))` returns a getter. Zod schemas
 * are built this way so that a CLI run pays only for the schemas it parses with, not for every
 * schema of every module it imports (building them at import cost ~90 ms of a no-change
 * `driftd sync`; docs/performance.md, "Process start").
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
