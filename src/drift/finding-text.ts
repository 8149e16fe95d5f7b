/** How a compared value appears in a finding's message: quoted, `(unset)`, at most 80 characters. */
export function showValue(v: unknown): string {
  const text = v === null || v === undefined ? '(unset)' : typeof v === 'string' ? `"${v}"` : JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
