/**
 * Conflicts between stacks that run on the same host: a host port published twice, a Traefik
 * router name defined twice, the same `Host(...)` routed by two stacks. Each conflict is reported
 * once, at the later stack (by name), naming the other one and the hosts where both run.
 */
import type { PortMapping } from '../compose/model.js';
import { parsePorts } from '../compose/ports.js';
import { finding } from './finding.js';
import type { HostGroup } from './fleet-check.js';
import type { ValidateFinding } from './model.js';
import type { LoadedStack } from './stack-check.js';
import { locateEntry, locateItem, type Location } from './yaml-location.js';

/** Something a stack claims on its host (a port, a router name, a host name) and where it is written. */
interface Claim {
  stack: string;
  service: string;
  /** What is claimed, e.g. "router http/api"; conflicts are claims that overlap across stacks. */
  what: string;
  where: Location;
}

interface Conflict {
  claim: Claim;
  other: Claim;
  kind: 'port-conflict' | 'traefik-router-conflict' | 'traefik-host-conflict';
  message: string;
}

function describeWhere(l: Location): string {
  return l.line !== undefined ? `${l.file}:${l.line}` : l.file;
}

function fallbackLocation(loaded: LoadedStack): Location {
  return { file: loaded.stack.composeFiles[0] ?? `stacks/${loaded.stack.name}` };
}

// ---- ports

interface PortClaim extends Claim {
  ip: string | undefined;
  range: [number, number];
  protocol: PortMapping['protocol'];
}

const ALL_INTERFACES = new Set([undefined, '', '0.0.0.0', '::']);

function portRange(published: string): [number, number] {
  const [a = '0', b = a] = published.split('-');
  return [Number(a), Number(b)];
}

function portClaims(loaded: LoadedStack): PortClaim[] {
  const out: PortClaim[] = [];
  for (const svc of loaded.stack.services) {
    for (const p of svc.ports) {
      if (p.published === undefined) continue;
      const same = (item: unknown) =>
        parsePorts([item], []).some((m) => m.mapping.published === p.published && m.mapping.target === p.target && m.mapping.protocol === p.protocol && m.mapping.hostIp === p.hostIp);
      out.push({
        stack: loaded.stack.name,
        service: svc.name,
        what: `${p.hostIp ?? '*'}:${p.published}/${p.protocol}`,
        where: locateItem(loaded.files, ['services', svc.name, 'ports'], same) ?? fallbackLocation(loaded),
        ip: p.hostIp,
        range: portRange(p.published),
        protocol: p.protocol,
      });
    }
  }
  return out;
}

function portsOverlap(a: PortClaim, b: PortClaim): boolean {
  if (a.protocol !== b.protocol) return false;
  if (Math.max(a.range[0], b.range[0]) > Math.min(a.range[1], b.range[1])) return false;
  return ALL_INTERFACES.has(a.ip) || ALL_INTERFACES.has(b.ip) || a.ip === b.ip;
}

// ---- Traefik

const ROUTER_LABEL = /^traefik\.(http|tcp|udp)\.routers\.([^.]+)\./;

function traefikEnabled(labels: Record<string, string>): boolean {
  return labels['traefik.enable']?.trim().toLowerCase() !== 'false';
}

function routerClaims(loaded: LoadedStack): Claim[] {
  const out: Claim[] = [];
  for (const svc of loaded.stack.services) {
    if (!traefikEnabled(svc.labels)) continue;
    const seen = new Set<string>();
    for (const key of Object.keys(svc.labels).sort()) {
      const m = ROUTER_LABEL.exec(key);
      if (!m) continue;
      const what = `${m[1] ?? ''} router ${JSON.stringify(m[2] ?? '')}`;
      if (seen.has(what)) continue;
      seen.add(what);
      out.push({ stack: loaded.stack.name, service: svc.name, what, where: locateEntry(loaded.files, ['services', svc.name, 'labels'], key) ?? fallbackLocation(loaded) });
    }
  }
  return out;
}

/** Walks an expression outside quotes, with the parenthesis depth before each character. */
function scan(expr: string, visit: (i: number, depth: number) => boolean | void): void {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '`' || ch === '"' || ch === "'") quote = ch;
    else if (ch === ')') depth--;
    if (visit(i, depth) === true) return;
    if (ch === '(') depth++;
  }
}

/** Splits on a top-level operator (outside parentheses and quotes). */
function splitTopLevel(expr: string, op: string): string[] {
  const parts: string[] = [];
  let start = 0;
  scan(expr, (i, depth) => {
    if (depth === 0 && i >= start && expr.startsWith(op, i)) {
      parts.push(expr.slice(start, i));
      start = i + op.length;
    }
  });
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim());
}

/** "(x)" → "x" when the first parenthesis closes at the very end. */
function unwrap(expr: string): string {
  let e = expr.trim();
  for (;;) {
    if (!e.startsWith('(')) return e;
    let close = -1;
    scan(e, (i, depth) => {
      if (e[i] === ')' && depth === 0) {
        close = i;
        return true;
      }
      return false;
    });
    if (close !== e.length - 1) return e;
    e = e.slice(1, -1).trim();
  }
}

const HOST_MATCHER = /^Host\(\s*((?:`[^`]*`|"[^"]*"|'[^']*')(?:\s*,\s*(?:`[^`]*`|"[^"]*"|'[^']*'))*)\s*\)$/;
const QUOTED = /`([^`]*)`|"([^"]*)"|'([^']*)'/g;

/**
 * The host names of a router rule made only of `Host(...)` matchers joined by `||`
 * (`Host(\`a\`, \`b\`)`, `Host(\`a\`) || Host(\`b\`)`), lowercased; undefined for any other rule:
 * a rule that adds `PathPrefix`, `Headers`… shares its host on purpose and is not compared.
 */
export function hostsOfRule(rule: string): string[] | undefined {
  const hosts: string[] = [];
  for (const term of splitTopLevel(unwrap(rule), '||')) {
    const inner = unwrap(term);
    const found = splitTopLevel(inner, '||').length > 1 ? hostsOfRule(inner) : hostMatcherArgs(inner);
    if (!found) return undefined;
    hosts.push(...found);
  }
  return hosts.length > 0 ? [...new Set(hosts)] : undefined;
}

function hostMatcherArgs(term: string): string[] | undefined {
  const m = HOST_MATCHER.exec(term);
  if (!m) return undefined;
  return [...(m[1] ?? '').matchAll(QUOTED)].map((q) => (q[1] ?? q[2] ?? q[3] ?? '').toLowerCase());
}

const RULE_LABEL = /^traefik\.http\.routers\.([^.]+)\.rule$/;

function hostClaims(loaded: LoadedStack): Claim[] {
  const out: Claim[] = [];
  for (const svc of loaded.stack.services) {
    if (!traefikEnabled(svc.labels)) continue;
    for (const [key, rule] of Object.entries(svc.labels).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!RULE_LABEL.test(key)) continue;
      const where = locateEntry(loaded.files, ['services', svc.name, 'labels'], key) ?? fallbackLocation(loaded);
      for (const host of hostsOfRule(rule) ?? []) out.push({ stack: loaded.stack.name, service: svc.name, what: host, where });
    }
  }
  return out;
}

// ---- putting it together

function pairs<T extends Claim>(claims: readonly T[], overlap: (a: T, b: T) => boolean, withinStack: boolean): [T, T][] {
  const out: [T, T][] = [];
  for (let i = 0; i < claims.length; i++) {
    for (let j = i + 1; j < claims.length; j++) {
      const a = claims[i] as T;
      const b = claims[j] as T;
      if (a.stack === b.stack && !withinStack) continue;
      if (overlap(a, b)) out.push([a, b]);
    }
  }
  return out;
}

function conflictsIn(stacks: readonly LoadedStack[]): Conflict[] {
  const out: Conflict[] = [];
  const sorted = [...stacks].sort((a, b) => (a.stack.name < b.stack.name ? -1 : 1));
  const owner = (c: Claim) => `stack ${c.stack} (service ${c.service}, ${describeWhere(c.where)})`;

  // Two services of one stack publishing the same port fail as surely as two stacks doing it.
  for (const [other, claim] of pairs(sorted.flatMap(portClaims), portsOverlap, true)) {
    out.push({
      claim,
      other,
      kind: 'port-conflict',
      message: `host port ${claim.what} is also published by ${owner(other)}`,
    });
  }
  for (const [other, claim] of pairs(sorted.flatMap(routerClaims), (a, b) => a.what === b.what, false)) {
    out.push({ claim, other, kind: 'traefik-router-conflict', message: `the Traefik ${claim.what} is also defined by ${owner(other)}` });
  }
  for (const [other, claim] of pairs(sorted.flatMap(hostClaims), (a, b) => a.what === b.what, false)) {
    out.push({ claim, other, kind: 'traefik-host-conflict', message: `Host(\`${claim.what}\`) is also routed by ${owner(other)}` });
  }
  return out;
}

const ADVICE: Record<Conflict['kind'], string> = {
  'port-conflict': 'only one container can bind it — change one of them',
  'traefik-router-conflict': 'Traefik merges or drops routers of the same name — rename one of them',
  'traefik-host-conflict': 'Traefik sends each request to only one of them — give one another host or a PathPrefix',
};

/** Conflicts within each host group; a conflict seen in several groups is reported once, with all its hosts. */
export function conflictFindings(loaded: readonly LoadedStack[], groups: readonly HostGroup[]): ValidateFinding[] {
  const byName = new Map(loaded.map((l) => [l.stack.name, l]));
  const seen = new Map<string, { conflict: Conflict; hosts: Set<string>; everyHost: boolean }>();
  for (const group of groups) {
    const members = group.stacks.map((s) => byName.get(s)).filter((l): l is LoadedStack => l !== undefined);
    for (const conflict of conflictsIn(members)) {
      const key = `${conflict.kind}\0${conflict.message}\0${describeWhere(conflict.claim.where)}`;
      const entry = seen.get(key) ?? { conflict, hosts: new Set<string>(), everyHost: false };
      if (group.hosts) for (const h of group.hosts) entry.hosts.add(h);
      else entry.everyHost = true;
      seen.set(key, entry);
    }
  }
  return [...seen.values()].map(({ conflict, hosts, everyHost }) => {
    const on = everyHost ? 'on every host' : `on host${hosts.size > 1 ? 's' : ''} ${[...hosts].sort().join(', ')}`;
    const { file, line } = conflict.claim.where;
    return finding(conflict.kind, 'error', file, line, `${conflict.message} ${on}; ${ADVICE[conflict.kind]}`);
  });
}
