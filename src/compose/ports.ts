/**
 * Service `ports:`, short syntax ("8080:80", "127.0.0.1:8080:80/udp", "[::1]:53:53",
 * "8000-8010:8000-8010", 80) parsed like Docker's nat.ParsePortSpec, and long syntax. A container
 * port range is expanded to one mapping per port; a host range for a single container port stays
 * a range ("8000-8010"), as Docker does.
 */
import { isIP } from 'node:net';
import type { PortMapping } from './model.js';
import { composeError, formatPath } from './errors.js';
import { isMapping, scalarText, uniqueBy } from './merge.js';

type Path = (string | number)[];

/** A mapping plus the long-syntax-only attributes that must survive rendering. */
export interface ServicePort {
  mapping: PortMapping;
  extra: { mode?: string; name?: string; app_protocol?: string };
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

function parseRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const container = parts[n - 1] ?? '';
  if (n === 1) return ['', '', container];
  if (n === 2) return ['', parts[0] ?? '', container];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2] ?? '', container];
}

export function parseShortPort(raw: string, path: Path): PortMapping[] {
  const bad = (why: string) => composeError('ComposeLoadError', `${formatPath(path)}: invalid port ${JSON.stringify(raw)}: ${why}`, { path });
  const [ipPart, hostPort, containerSpec] = splitParts(raw);
  const slash = containerSpec.indexOf('/');
  const containerPort = slash < 0 ? containerSpec : containerSpec.slice(0, slash);
  const proto = (slash < 0 || containerSpec.slice(slash + 1) === '' ? 'tcp' : containerSpec.slice(slash + 1)).toLowerCase();
  let ip = ipPart;
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && isIP(ip) === 0) throw bad(`invalid IP address ${ip}`);
  if (containerPort === '') throw bad('no container port');
  const container = parseRange(containerPort);
  if (!container) throw bad(`invalid container port ${containerPort}`);
  const host = hostPort === '' ? undefined : parseRange(hostPort);
  if (hostPort !== '' && !host) throw bad(`invalid host port ${hostPort}`);
  const [cStart, cEnd] = container;
  if (host && host[1] - host[0] !== cEnd - cStart && cEnd !== cStart) {
    throw bad(`the host range ${hostPort} and the container range ${containerPort} differ in size`);
  }
  if (!PROTOCOLS.has(proto)) throw bad(`invalid protocol ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= cEnd - cStart; i++) {
    const mapping: PortMapping = { target: cStart + i, protocol: proto as PortMapping['protocol'] };
    if (host) mapping.published = cStart === cEnd && host[0] !== host[1] ? `${host[0]}-${host[1]}` : String(host[0] + i);
    if (ip !== '') mapping.hostIp = ip;
    out.push(mapping);
  }
  return out;
}

function parseLongPort(entry: Record<string, unknown>, path: Path): ServicePort {
  const target = entry.target;
  if (typeof target !== 'number' || !Number.isInteger(target) || target < 1 || target > 65535) {
    throw composeError('ComposeLoadError', `${formatPath(path)}.target must be a port number`, { path: [...path, 'target'] });
  }
  const protocol = typeof entry.protocol === 'string' ? entry.protocol.toLowerCase() : 'tcp';
  if (!PROTOCOLS.has(protocol)) throw composeError('ComposeLoadError', `${formatPath(path)}.protocol must be tcp, udp or sctp`, { path: [...path, 'protocol'] });
  const mapping: PortMapping = { target, protocol: protocol as PortMapping['protocol'] };
  if (entry.published !== undefined && entry.published !== null && entry.published !== '') {
    const published = scalarText(entry.published) ?? '';
    if (!parseRange(published)) throw composeError('ComposeLoadError', `${formatPath(path)}.published must be a port or a port range`, { path: [...path, 'published'] });
    mapping.published = published;
  }
  if (typeof entry.host_ip === 'string' && entry.host_ip !== '') mapping.hostIp = entry.host_ip;
  const extra: ServicePort['extra'] = {};
  if (typeof entry.mode === 'string' && entry.mode !== 'ingress') extra.mode = entry.mode;
  if (typeof entry.name === 'string') extra.name = entry.name;
  if (typeof entry.app_protocol === 'string') extra.app_protocol = entry.app_protocol;
  return { mapping, extra };
}

function portKey(p: ServicePort): string {
  const m = p.mapping;
  return `${m.hostIp ?? '0.0.0.0'}:${m.published ?? ''}:${m.target}/${m.protocol}`;
}

/** Parses a service's `ports:` list; one entry per host-ip/published/target/protocol, the later winning. */
export function parsePorts(list: unknown, path: Path): ServicePort[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw composeError('ComposeLoadError', `${formatPath(path)} must be a list`, { path });
  const parsed = list.flatMap((entry, i): ServicePort[] => {
    const p = [...path, i];
    if (typeof entry === 'number') return parseShortPort(String(entry), p).map((mapping) => ({ mapping, extra: {} }));
    if (typeof entry === 'string') return parseShortPort(entry, p).map((mapping) => ({ mapping, extra: {} }));
    if (isMapping(entry)) return [parseLongPort(entry, p)];
    throw composeError('ComposeLoadError', `${formatPath(p)} must be a port string, number or mapping`, { path: p });
  });
  return uniqueBy(parsed, portKey);
}

/**
 * The form written to the deployed file: the short syntax, which docker-compose 1.29 and
 * Compose v2 both read; the long syntax only for attributes the short one cannot carry.
 */
export function renderPort(p: ServicePort): string | Record<string, unknown> {
  const m = p.mapping;
  if (Object.keys(p.extra).length > 0) {
    return {
      target: m.target,
      ...(m.published !== undefined ? { published: m.published } : {}),
      ...(m.hostIp !== undefined ? { host_ip: m.hostIp } : {}),
      protocol: m.protocol,
      ...p.extra,
    };
  }
  const ip = m.hostIp === undefined ? '' : `${m.hostIp.includes(':') ? `[${m.hostIp}]` : m.hostIp}:`;
  const published = m.published ?? '';
  const prefix = ip !== '' ? `${ip}${published}:` : published !== '' ? `${published}:` : '';
  return `${prefix}${m.target}/${m.protocol}`;
}
