import { describe, expect, it } from 'vitest';
import { redactValue } from '../../../src/util/redact.js';
import { MIN_SUBSTRING, Scrubber } from '../../../src/util/scrub.js';

const h = redactValue;

describe('the secret scrubber', () => {
  const s = new Scrubber().add(['db-pass-7731', 'envfile-secret-42', 'lbl-token-9', 'cmd-arg-secret', 'hc-secret-55', '1', 'true']);

  it('replaces a secret inside a URL, a command, a label, a diff and an error', () => {
    expect(s.text('postgres://app:db-pass-7731@db/app')).toBe(`postgres://app:${h('db-pass-7731')}@db/app`);
    expect(s.text('run --key=cmd-arg-secret now')).toBe(`run --key=${h('cmd-arg-secret')} now`);
    expect(s.text('my.token=lbl-token-9')).toBe(`my.token=${h('lbl-token-9')}`);
    expect(s.text('-  X: envfile-secret-42\n+  X: other')).toBe(`-  X: ${h('envfile-secret-42')}\n+  X: other`);
    expect(s.text('Error: curl -f http://x/?p=hc-secret-55 failed')).toBe(`Error: curl -f http://x/?p=${h('hc-secret-55')} failed`);
  });

  it('replaces the password of any user:password@ URL, known or not', () => {
    expect(new Scrubber().text('see https://bob:s3cr3t@git.example/x and redis://:pw@r:6379')).toBe(
      `see https://bob:${h('s3cr3t')}@git.example/x and redis://:${h('pw')}@r:6379`,
    );
    expect(new Scrubber().text('https://bob@git.example/x http://h:8080/p')).toBe('https://bob@git.example/x http://h:8080/p');
  });

  it(`replaces values shorter than ${MIN_SUBSTRING} characters only where a whole string equals them`, () => {
    expect(s.text('1')).toBe(h('1'));
    expect(s.text('true')).toBe(h('true'));
    expect(s.text('replicas: 1, enabled: true')).toBe('replicas: 1, enabled: true');
    expect(s.deep({ a: ['1', 'x1'], b: 'true' })).toEqual({ a: [h('1'), 'x1'], b: h('true') });
  });

  it('replaces the longest of overlapping secrets whole', () => {
    const o = new Scrubber().add(['abcdef', 'abcdefghij', 'ghijkl']);
    expect(o.text('xabcdefghijklx')).toBe(`x${h('abcdefghij')}klx`);
    expect(o.text('abcdef ghijkl')).toBe(`${h('abcdef')} ${h('ghijkl')}`);
  });

  it('is idempotent, even for secrets made of hex digits that occur in a token', () => {
    const token = h('db-pass-7731');
    const hex = new Scrubber().add(['db-pass-7731', token.slice(7, 13)]);
    const once = hex.text('postgres://app:db-pass-7731@db');
    expect(hex.text(once)).toBe(once);
    expect(s.text(s.text('postgres://app:db-pass-7731@db ; true'))).toBe(s.text('postgres://app:db-pass-7731@db ; true'));
  });

  it('scrubs the JSON-escaped form of a value in serialized text', () => {
    const q = new Scrubber().add(['pa"ss\\word']);
    const line = JSON.stringify({ msg: 'x pa"ss\\word y' });
    expect(q.text(line)).toBe(JSON.stringify({ msg: `x ${h('pa"ss\\word')} y` }));
  });

  it('keeps object keys, including __proto__, and copies deeply', () => {
    const input = JSON.parse('{"__proto__": "db-pass-7731", "k": {"v": ["envfile-secret-42"]}}') as Record<string, unknown>;
    const out = s.deep(input);
    expect(Object.keys(out)).toEqual(['__proto__', 'k']);
    expect(JSON.stringify(out)).toBe(`{"__proto__":"${h('db-pass-7731')}","k":{"v":["${h('envfile-secret-42')}"]}}`);
  });
});
