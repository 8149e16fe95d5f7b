/** Payload extraction from raw commit and tag objects, as Git cuts it (hostile layouts included). */
import { describe, expect, it } from 'vitest';
import { parseSignedCommit, parseSignedTag } from '../../../src/verify/raw-object.js';
import { decideRevision } from '../../../src/verify/verdict.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const text = (u: Uint8Array): string => Buffer.from(u).toString('latin1');
const PGP = '-----BEGIN PGP SIGNATURE-----\n\niHUEABYKAB0WIQ\n=abcd\n-----END PGP SIGNATURE-----\n';
const SSH = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n';
const header = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@x> 1700000000 +0000\ncommitter c <c@x> 1700000001 +0000\n';
const folded = (sig: string): string => sig.trimEnd().split('\n').map((l, i) => (i === 0 ? `gpgsig ${l}` : ` ${l}`)).join('\n');

describe('commit payload', () => {
  it('removes the gpgsig header with its continuation lines (an empty signature line is a lone space)', () => {
    const raw = `${header}${folded(PGP)}\n\nmessage\n`;
    const parsed = parseSignedCommit(b(raw));
    expect(text(parsed.payload)).toBe(`${header}\nmessage\n`);
    expect(parsed.signature).toEqual({ format: 'openpgp', armored: PGP });
    expect(parsed.timestamp).toBe(1_700_000_001);
  });

  it('SSH signatures are found in gpgsig too; headers after gpgsig (mergetag, encoding) stay in the payload', () => {
    const raw = `${header}${folded(SSH)}\nencoding ISO-8859-1\n\nmsg\n`;
    const parsed = parseSignedCommit(b(raw));
    expect(parsed.signature?.format).toBe('ssh');
    expect(text(parsed.payload)).toBe(`${header}encoding ISO-8859-1\n\nmsg\n`);
  });

  it('a gpgsig line in the message is message, not a signature', () => {
    const raw = `${header}\n${folded(PGP)}\n`;
    const parsed = parseSignedCommit(b(raw));
    expect(parsed.signature).toBeUndefined();
    expect(text(parsed.payload)).toBe(raw);
  });

  it('an unsigned commit is its own payload', () => {
    expect(parseSignedCommit(b(`${header}\nm\n`)).signature).toBeUndefined();
  });
});

describe('tag payload', () => {
  const tagHeader = 'object 1111111111111111111111111111111111111111\ntype commit\ntag v1.0.0\ntagger t <t@x> 1700000002 +0000\n\n';

  it('the signature is the tail from the last signature marker line', () => {
    const raw = `${tagHeader}release\n${SSH}`;
    const parsed = parseSignedTag(b(raw));
    expect(text(parsed.payload)).toBe(`${tagHeader}release\n`);
    expect(parsed.signature).toEqual({ format: 'ssh', armored: SSH });
    expect(parsed.headers).toMatchObject({ object: '1111111111111111111111111111111111111111', type: 'commit', tag: 'v1.0.0' });
    expect(parsed.timestamp).toBe(1_700_000_002);
  });

  it('a quoted signature block inside the message is payload; only the last one signs', () => {
    const raw = `${tagHeader}see:\n${PGP}end\n${PGP}`;
    const parsed = parseSignedTag(b(raw));
    expect(text(parsed.payload)).toBe(`${tagHeader}see:\n${PGP}end\n`);
  });

  it('a marker in the header block is never a signature; an unsigned tag has none', () => {
    const raw = `object 1111111111111111111111111111111111111111\n${PGP}\nmsg\n`;
    expect(parseSignedTag(b(raw)).signature).toBeUndefined();
    expect(parseSignedTag(b(`${tagHeader}msg\n`)).signature).toBeUndefined();
  });

  it('an X.509 signature is recognized (and refused later as unsupported)', () => {
    expect(parseSignedTag(b(`${tagHeader}m\n-----BEGIN SIGNED MESSAGE-----\nx\n-----END SIGNED MESSAGE-----\n`)).signature?.format).toBe('x509');
  });
});

describe('revision verdict (pure)', () => {
  const commit = 'c'.repeat(40);
  const ok = { ok: true as const, kind: 'ssh' as const, signer: { fingerprint: 'SHA256:x' } };
  const bad = { ok: false as const, reason: 'unknown-key' as const, message: 'signed by SSH key SHA256:y', fingerprint: 'SHA256:y' };

  it.each([
    ['off', 'branch', {}, true],
    ['tag', 'branch', {}, 'unsigned'],
    ['tag', 'tag', {}, 'lightweight-tag'],
    ['tag', 'tag', { tagObject: 't'.repeat(40), tag: ok }, true],
    ['tag', 'tag', { tagObject: 't'.repeat(40), tag: bad }, 'unknown-key'],
    ['head', 'tag', { head: ok }, true],
    ['head', 'tag', { tagObject: 't'.repeat(40), tag: ok, head: bad }, 'unknown-key'],
    ['tag-and-head', 'tag', { tagObject: 't'.repeat(40), tag: ok, head: bad }, 'unknown-key'],
    ['tag-and-head', 'tag', { tagObject: 't'.repeat(40), tag: bad, head: ok }, 'unknown-key'],
    ['tag-and-head', 'tag', { tagObject: 't'.repeat(40), tag: ok, head: ok }, true],
  ] as const)('mode %s, %s ref %o → %s', (mode, refKind, objects, expected) => {
    const v = decideRevision({ mode, commit, ref: 'v1', refKind, refuseMovedTags: false, ...objects });
    if (expected === true) expect(v.ok).toBe(true);
    else expect(v).toMatchObject({ ok: false, reason: expected, commit });
  });

  it('tag-and-head records both verified objects; a refused move wins only with verification off', () => {
    const v = decideRevision({ mode: 'tag-and-head', commit, ref: 'v1', refKind: 'tag', tagObject: 't'.repeat(40), tag: ok, head: ok, refuseMovedTags: true, moved: { from: 'a'.repeat(40) } });
    expect(v.ok && v.provenance.verified.map((o) => o.type)).toEqual(['tag', 'commit']);
    expect(decideRevision({ mode: 'off', commit, ref: 'v1', refKind: 'tag', refuseMovedTags: true, moved: {} })).toMatchObject({ ok: false, reason: 'moved-tag' });
    expect(decideRevision({ mode: 'off', commit, ref: 'v1', refKind: 'tag', refuseMovedTags: false, moved: {} }).ok).toBe(true);
  });
});
