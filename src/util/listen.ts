/** `host:port` listen addresses (the agent's `http.listen`, the hub's `--listen`). */
import { isIP } from 'node:net';
import { DriftdError } from '../errors/index.js';

export function parseListen(listen: string, key = 'http.listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new DriftdError('ConfigError', `${key} "${listen}" must be host:port, e.g. 127.0.0.1:9797`, { key });
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/**
 * Only an address that cannot be reached from another machine counts as loopback: 127.0.0.0/8,
 * ::1 (also as ::ffff:127.x) and the name `localhost`. Any other name may resolve anywhere, so
 * it is treated as public.
 */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const h = host.toLowerCase();
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}
