/** Typed access to commander's untyped option bag. */
export function stringList(opts: Record<string, unknown>, key: string): string[] {
  const v = opts[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function flag(opts: Record<string, unknown>, key: string): boolean {
  return opts[key] === true;
}

export function optionalString(opts: Record<string, unknown>, key: string): string | undefined {
  const v = opts[key];
  return typeof v === 'string' ? v : undefined;
}
