/**
 * Protocol parsing from raw bytes: pkt-line framing, the v0 advertisement, v2 capabilities and
 * ls-refs answers, including what a hostile or broken server sends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parsePktLines, pkt, MAX_PKT_LEN, PktLineError } from '../../../src/source/pkt-line.js';
import { refsFromAdvertisement, tagInScope } from '../../../src/source/refs.js';
import { httpCall, lsRefsRequest, MAX_REFS, parseDiscovery, parseLsRefs, syntheticAdvertisement, underPrefixes } from '../../../src/source/smart-http.js';
import { policyRefPrefixes } from '../../../src/source/select.js';
import { compareTags } from '../../../src/source/tag-memory.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const buf = (...parts: string[]) => Buffer.from(parts.join(''), 'latin1');

describe('pkt-line', () => {
  it('parses data, flush, delim and response-end', () => {
    const pkts = parsePktLines(buf(pkt('hi\n'), '0000', '0001', '0002', '0004'), 10);
    expect(pkts.map((p) => p.kind)).toEqual(['data', 'flush', 'delim', 'end', 'data']);
  });

  it.each([
    ['non-hex length', 'zz12abc'],
    ['length 3', '0003'],
    ['length over 65520', 'fff1' + 'x'.repeat(70000)],
    ['truncated line', '0010abc'],
    ['truncated length', '00'],
  ])('refuses %s', (_what, raw) => {
    expect(() => parsePktLines(buf(raw), 10)).toThrow(PktLineError);
  });

  it('refuses more lines than the limit (an endless answer)', () => {
    expect(() => parsePktLines(buf('0000'.repeat(11)), 10)).toThrow(/more than 10/);
  });

  it('refuses to encode a line over the maximum', () => {
    expect(() => pkt('x'.repeat(MAX_PKT_LEN))).toThrow();
  });
});

describe('discovery (GET info/refs)', () => {
  it('a v2 capability advertisement, with or without the service line', () => {
    const caps = [pkt('version 2\n'), pkt('agent=git/2.39\n'), pkt('ls-refs=unborn\n'), pkt('fetch=shallow\n'), '0000'];
    for (const raw of [buf(...caps), buf(pkt('# service=git-upload-pack\n'), '0000', ...caps)]) {
      const d = parseDiscovery(raw);
      expect(d.version).toBe(2);
      if (d.version === 2) expect([...d.capabilities]).toEqual([['agent', 'git/2.39'], ['ls-refs', 'unborn'], ['fetch', 'shallow']]);
    }
  });

  it('a v0 advertisement: refs, peeled tags and capabilities', () => {
    const d = parseDiscovery(
      buf(pkt('# service=git-upload-pack\n'), '0000', pkt(`${A} HEAD\0shallow side-band-64k\n`), pkt(`${A} refs/heads/main\n`), pkt(`${B} refs/tags/v1\n`), pkt(`${A} refs/tags/v1^{}\n`), '0000'),
    );
    expect(d).toEqual({
      version: 0,
      capabilities: ['shallow', 'side-band-64k'],
      refs: [{ ref: 'HEAD', oid: A }, { ref: 'refs/heads/main', oid: A }, { ref: 'refs/tags/v1', oid: B, peeled: A }],
    });
  });

  it('an empty repo (capabilities^{}) lists no refs', () => {
    const d = parseDiscovery(buf(pkt('# service=git-upload-pack\n'), '0000', pkt(`${'0'.repeat(40)} capabilities^{}\0shallow\n`), '0000'));
    expect(d).toEqual({ version: 0, refs: [], capabilities: ['shallow'] });
  });

  it.each([
    ['a bad oid', pkt(`${'g'.repeat(40)} refs/heads/main\0x\n`)],
    ['a short oid', pkt(`abc refs/heads/main\0x\n`)],
    ['a ref name with a control character', pkt(`${A} refs/tags/a\u0001b\0x\n`)],
    ['no capability list', pkt(`${A} refs/heads/main\n`)],
    ['a peeled line without its ref', pkt(`${A} HEAD\0x\n`) + pkt(`${B} refs/tags/v1^{}\n`)],
    ['an ERR line', pkt('ERR access denied\n')],
  ])('refuses %s', (_what, lines) => {
    expect(() => parseDiscovery(buf(pkt('# service=git-upload-pack\n'), '0000', lines, '0000'))).toThrow(PktLineError);
  });

  it('the error carries the code the Git error mapping knows', () => {
    expect(new PktLineError('x').code).toBe('ParseError');
  });

  it('refuses an advertisement without its closing flush (a cut answer)', () => {
    expect(() => parseDiscovery(buf(pkt('# service=git-upload-pack\n'), '0000', pkt(`${A} HEAD\0x\n`)))).toThrow(/flush/);
    expect(() => parseDiscovery(buf(pkt('version 2\n'), pkt('ls-refs\n')))).toThrow(/flush/);
  });
});

describe('ls-refs', () => {
  it('the request asks for peeled refs under each prefix', () => {
    expect(lsRefsRequest(['HEAD', 'refs/tags/'])).toBe('0014command=ls-refs\n00010009peel\n0014ref-prefix HEAD\n001aref-prefix refs/tags/\n0000');
  });

  it('parses refs, peeled tags and symref targets', () => {
    const refs = parseLsRefs(buf(pkt(`${A} HEAD symref-target:refs/heads/main\n`), pkt(`${B} refs/tags/v1 peeled:${A}\n`), pkt(`${C} refs/tags/__proto__\n`), '0000'));
    expect(refs).toEqual([{ ref: 'HEAD', oid: A }, { ref: 'refs/tags/v1', oid: B, peeled: A }, { ref: 'refs/tags/__proto__', oid: C }]);
    // Prototype-key names stay data.
    const repoRefs = refsFromAdvertisement(refs, ['HEAD', 'refs/tags/']);
    expect(Object.keys(repoRefs.tags)).toEqual(['v1', '__proto__']);
    expect(repoRefs.tags.__proto__).toEqual({ object: C, commit: C });
    expect(({} as Record<string, unknown>).object).toBeUndefined();
  });

  it.each([
    ['a bad peeled oid', pkt(`${B} refs/tags/v1 peeled:xyz\n`)],
    ['an unknown attribute', pkt(`${B} refs/tags/v1 evil:1\n`)],
    ['an unborn ref', pkt(`unborn HEAD symref-target:refs/heads/main\n`)],
    ['an oid in upper case', pkt(`${A.toUpperCase()} refs/tags/v1\n`)],
  ])('refuses %s', (_what, line) => {
    expect(() => parseLsRefs(buf(line, '0000'))).toThrow(PktLineError);
  });

  it('refuses an endless list of refs', () => {
    const line = pkt(`${A} refs/tags/x\n`);
    expect(() => parseLsRefs(Buffer.from(line.repeat(MAX_REFS + 1) + '0000', 'latin1'))).toThrow(/more than/);
  });
});

describe('prefixes and scope', () => {
  it('each policy lists only what it can select', () => {
    expect(policyRefPrefixes({ kind: 'tag', tag: 'v1.2.0' })).toEqual(['refs/tags/v1.2.0']);
    expect(policyRefPrefixes({ kind: 'branch', branch: 'main' })).toEqual(['refs/heads/main']);
    expect(policyRefPrefixes({ kind: 'semver', range: '^1', prefix: 'release/' })).toEqual(['refs/tags/release/']);
    expect(policyRefPrefixes({ kind: 'semver', range: '^1' })).toEqual(['refs/tags/']);
    expect(policyRefPrefixes({ kind: 'auto' })).toEqual(['HEAD', 'refs/tags/']);
  });

  it('a v0 listing is cut to the same prefixes', () => {
    const refs = [{ ref: 'HEAD', oid: A }, { ref: 'refs/heads/main', oid: A }, { ref: 'refs/tags/v1', oid: B }, { ref: 'refs/pull/1/head', oid: C }];
    expect(underPrefixes(refs, ['HEAD', 'refs/tags/']).map((r) => r.ref)).toEqual(['HEAD', 'refs/tags/v1']);
  });

  it('tags outside the listed scope are not reported as deleted', () => {
    const scope = ['refs/tags/v1.2.0'];
    expect(tagInScope(scope, 'v1.2.0')).toBe(true);
    expect(tagInScope(scope, 'v0.9.0')).toBe(false);
    expect(tagInScope(undefined, 'anything')).toBe(true);
    const warnings = compareTags({ 'v0.9.0': A, 'v1.2.0': A }, { 'v1.2.0': B }, 'repo', (t) => tagInScope(scope, t));
    expect(warnings.map((w) => [w.kind, w.tag])).toEqual([['tag-moved', 'v1.2.0']]);
  });
});

describe('the advertisement a fetch reuses', () => {
  it('round-trips through the v0 parser: same refs, same capabilities', () => {
    const refs = [{ ref: 'HEAD', oid: A }, { ref: 'refs/tags/v1', oid: B, peeled: A }];
    expect(parseDiscovery(syntheticAdvertisement(refs, ['shallow', 'ofs-delta']))).toEqual({ version: 0, refs, capabilities: ['shallow', 'ofs-delta'] });
  });
});

describe('httpCall: the size ceiling and redirects', () => {
  async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
    const server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => {
        server.closeAllConnections();
        return new Promise((r) => server.close(() => r()));
      },
    };
  }

  it('stops reading an answer larger than the ceiling (a hostile server streaming forever)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-result' });
      const chunk = Buffer.alloc(64 * 1024, 0x30);
      const pump = () => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
      res.on('close', () => res.removeAllListeners('drain'));
    });
    try {
      await expect(httpCall({ url: s.url, method: 'GET', headers: {}, timeoutMs: 10_000, maxBytes: 1024 * 1024 })).rejects.toThrow(/larger than 1048576 bytes/);
    } finally {
      await s.close();
    }
  });

  it('follows a redirect to another origin without the credentials', async () => {
    const seen: (string | undefined)[] = [];
    const target = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.end('ok');
    });
    const origin = await serve((_req, res) => {
      res.writeHead(302, { location: `${target.url.replace('127.0.0.1', 'localhost')}/x` });
      res.end();
    });
    try {
      const answer = await httpCall({ url: origin.url, method: 'GET', headers: { Authorization: 'Basic c2VjcmV0' }, timeoutMs: 10_000, maxBytes: 1024 });
      expect(answer.body.toString()).toBe('ok');
      expect(seen).toEqual([undefined]);
    } finally {
      await target.close();
      await origin.close();
    }
  });
});
