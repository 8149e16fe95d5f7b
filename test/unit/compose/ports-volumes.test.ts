import { describe, expect, it } from 'vitest';
import { parsePorts, parseShortPort, renderPort } from '../../../src/compose/ports.js';
import { parseVolume } from '../../../src/compose/volumes.js';
import { shellSplit } from '../../../src/compose/shell-split.js';
import { parseGoDurationNs } from '../../../src/compose/go-duration.js';

const p = ['services', 'a', 'ports', 0];

describe('ports: short syntax', () => {
  it.each([
    ['80', [{ target: 80, protocol: 'tcp' }]],
    ['8080:80', [{ target: 80, published: '8080', protocol: 'tcp' }]],
    ['127.0.0.1:8080:80/tcp', [{ target: 80, published: '8080', hostIp: '127.0.0.1', protocol: 'tcp' }]],
    ['127.0.0.1::80', [{ target: 80, hostIp: '127.0.0.1', protocol: 'tcp' }]],
    ['53:53/udp', [{ target: 53, published: '53', protocol: 'udp' }]],
    ['53:53/UDP', [{ target: 53, published: '53', protocol: 'udp' }]],
    ['9/sctp', [{ target: 9, protocol: 'sctp' }]],
    ['[::1]:8080:80', [{ target: 80, published: '8080', hostIp: '::1', protocol: 'tcp' }]],
    ['::1:8080:80', [{ target: 80, published: '8080', hostIp: '::1', protocol: 'tcp' }]],
    ['8000-8002:9000-9002', [
      { target: 9000, published: '8000', protocol: 'tcp' },
      { target: 9001, published: '8001', protocol: 'tcp' },
      { target: 9002, published: '8002', protocol: 'tcp' },
    ]],
    ['3000-3001', [{ target: 3000, protocol: 'tcp' }, { target: 3001, protocol: 'tcp' }]],
    ['8000-8010:80', [{ target: 80, published: '8000-8010', protocol: 'tcp' }]],
    ['80/', [{ target: 80, protocol: 'tcp' }]],
  ])('%s', (spec, expected) => {
    expect(parseShortPort(spec, p)).toEqual(expected);
  });

  it.each([
    ['', 'no container port'],
    ['8080:', 'no container port'],
    ['abc', 'invalid container port'],
    ['70000', 'invalid container port'],
    ['x:80', 'invalid host port'],
    ['999.1.1.1:80:80', 'invalid IP address'],
    ['80/icmp', 'invalid protocol'],
    ['8000-8001:9000-9002', 'differ in size'],
    ['9002-9000', 'invalid container port'],
  ])('%j is refused (%s)', (spec, message) => {
    expect(() => parseShortPort(spec, p)).toThrow(message);
  });
});

describe('ports: lists, long syntax, unicity, rendering', () => {
  it('parses numbers, strings and the long syntax; the later definition of a key wins', () => {
    const ports = parsePorts(
      [80, '8080:80', { target: 443, published: 8443, host_ip: '127.0.0.1', protocol: 'TCP' }, { target: 80, published: '8080', mode: 'host' }, '127.0.0.1:8443:443'],
      ['services', 'a', 'ports'],
    );
    expect(ports).toEqual([
      { mapping: { target: 80, protocol: 'tcp' }, extra: {} },
      { mapping: { target: 80, published: '8080', protocol: 'tcp' }, extra: { mode: 'host' } },
      { mapping: { target: 443, published: '8443', hostIp: '127.0.0.1', protocol: 'tcp' }, extra: {} },
    ]);
  });

  it.each([
    [{ target: 'http' }, 'target must be a port number'],
    [{ target: 70000 }, 'target must be a port number'],
    [{ target: 80, protocol: 'icmp' }, 'protocol must be tcp, udp or sctp'],
    [{ target: 80, published: 'x' }, 'published must be a port or a port range'],
    [[1], 'must be a port string, number or mapping'],
  ])('refuses %j', (entry, message) => {
    expect(() => parsePorts([entry], ['services', 'a', 'ports'])).toThrow(message);
  });

  it.each([
    [{ mapping: { target: 80, protocol: 'tcp' }, extra: {} }, '80/tcp'],
    [{ mapping: { target: 80, published: '8080', protocol: 'tcp' }, extra: {} }, '8080:80/tcp'],
    [{ mapping: { target: 80, hostIp: '127.0.0.1', protocol: 'udp' }, extra: {} }, '127.0.0.1::80/udp'],
    [{ mapping: { target: 80, published: '8080', hostIp: '::1', protocol: 'tcp' }, extra: {} }, '[::1]:8080:80/tcp'],
    [{ mapping: { target: 80, published: '8000-8010', protocol: 'tcp' }, extra: {} }, '8000-8010:80/tcp'],
    [{ mapping: { target: 80, published: '80', protocol: 'tcp' }, extra: { mode: 'host' } }, { target: 80, published: '80', protocol: 'tcp', mode: 'host' }],
  ] as const)('renders %j as %j', (port, expected) => {
    expect(renderPort(port as never)).toEqual(expected);
  });

  it('rendered short ports parse back to the same mapping', () => {
    for (const spec of ['127.0.0.1:8080:80/udp', '[::1]:53:53', '8000-8010:80', '7000', '127.0.0.1::9']) {
      for (const m of parseShortPort(spec, p)) expect(parseShortPort(renderPort({ mapping: m, extra: {} }) as string, p)).toEqual([m]);
    }
  });
});

describe('volumes', () => {
  const vp = ['services', 'a', 'volumes', 0];
  it.each([
    ['/data', { type: 'volume', target: '/data', readOnly: false }],
    ['data:/data', { type: 'volume', source: 'data', target: '/data', readOnly: false }],
    ['./conf:/etc/conf:ro', { type: 'bind', source: './conf', target: '/etc/conf', readOnly: true }],
    ['../x:/x:rw', { type: 'bind', source: '../x', target: '/x', readOnly: false }],
    ['/var/run/docker.sock:/var/run/docker.sock', { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: false }],
    ['~/x:/x:ro,z', { type: 'bind', source: '~/x', target: '/x', readOnly: true }],
    ['data:/data:nocopy', { type: 'volume', source: 'data', target: '/data', readOnly: false }],
    [{ type: 'bind', source: './b', target: '/b', read_only: true }, { type: 'bind', source: './b', target: '/b', readOnly: true }],
    [{ type: 'volume', source: 'v', target: '/v' }, { type: 'volume', source: 'v', target: '/v', readOnly: false }],
    [{ type: 'volume', target: '/anon' }, { type: 'volume', target: '/anon', readOnly: false }],
    [{ type: 'tmpfs', target: '/tmp', tmpfs: { size: 1000 } }, { type: 'tmpfs', target: '/tmp', readOnly: false }],
  ])('%j', (entry, expected) => {
    expect(parseVolume(entry, vp)).toEqual(expected);
  });

  it.each([
    ['a::b', 'empty section between colons'],
    ['a:b:ro:x', 'too many colons'],
    [{ type: 'npipe', source: 'x', target: '/x' }, 'volume type "npipe" is not supported'],
    [{ type: 'cluster', target: '/x' }, 'is not supported'],
    [{ source: 'x', target: '/x' }, '.type is required'],
    [{ type: 'volume' }, '.target is required'],
    [{ type: 'bind', target: '/x' }, '.source is required for a bind mount'],
  ])('refuses %j (%s)', (entry, message) => {
    expect(() => parseVolume(entry, vp)).toThrow(message);
  });
});

describe('shell split (go-shellwords, as Compose v2)', () => {
  it.each([
    ['nginx -g "daemon off;"', ['nginx', '-g', 'daemon off;']],
    ['  a   b\tc\n', ['a', 'b', 'c']],
    ["echo 'single $HOME \\n'", ['echo', 'single $HOME \\n']],
    ['echo "double \\"q\\" \\\\ x"', ['echo', 'double "q" \\ x']],
    ['a\\ b c', ['a b', 'c']],
    ['a\\tb', ['a\tb']],
    ["'' \"\" x", ['', '', 'x']],
    ['a"b c"d', ['ab cd']],
    ['echo $HOME ${X}', ['echo', '$HOME', '${X}']],
    ['"a;b" \'c|d\' "e&f" "(g)"', ['a;b', 'c|d', 'e&f', '(g)']],
    ['', []],
  ])('%j → %j', (line, argv) => {
    expect(shellSplit(line)).toEqual(argv);
  });

  it.each(['echo a; echo b', 'a && b', 'a | b', 'a > f', 'a < f', 'echo $(id)', 'echo `id`', '"unterminated', "'unterminated", 'trailing\\'])(
    'refuses %j',
    (line) => {
      expect(() => shellSplit(line)).toThrow();
    },
  );
});

describe('Go durations', () => {
  it.each([
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5s', 1.5e9],
    ['500ms', 5e8],
    ['2h', 7200e9],
    ['10us', 10e3],
    ['10µs', 10e3],
    ['7ns', 7],
    ['0', 0],
    ['.5s', 5e8],
  ])('%s = %d ns', (s, ns) => {
    expect(parseGoDurationNs(s)).toBe(ns);
  });
  it.each(['30', '1d', 's', '', '1m 30s', 'abc'])('%j is not a duration', (s) => {
    expect(parseGoDurationNs(s)).toBeUndefined();
  });
});
