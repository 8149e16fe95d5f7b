import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isSecretKey,
  MIN_SUBSTRING,
  redactAssignments,
  redactEnv,
  redactEnvLike,
  redactFileContent,
  redactValue,
  registerSecrets,
  registerUrlSecrets,
  scrub,
  scrubDeep,
  Scrubber,
  scrubValue,
  secretKeyTest,
} from '../../../src/util/scrub.js';

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

describe('encodings and the process registry', () => {
  const secret = 'Canary/Pass+word=42"x';
  const s = new Scrubber().add([secret]);
  const t = h(secret);

  it('replaces the base64 (padded or not), URL-encoded, JSON-escaped and double-escaped forms by the hash of the value', () => {
    const b64 = Buffer.from(secret).toString('base64');
    expect(s.text(`Authorization: Basic ${b64}`)).toBe(`Authorization: Basic ${t}`);
    expect(s.text(`auth=${b64.replace(/=+$/, '')}.`)).toBe(`auth=${t}.`);
    expect(s.text(`https://h/?p=${encodeURIComponent(secret)}&q=1`)).toBe(`https://h/?p=${t}&q=1`);
    const line = JSON.stringify({ msg: `x ${secret} y` });
    expect(s.text(line)).toBe(JSON.stringify({ msg: `x ${t} y` }));
    const nested = JSON.stringify({ detail: JSON.stringify({ v: secret }) });
    expect(s.text(nested)).not.toContain('Canary');
  });

  it('a multi-line secret (a secret file) is replaced whole and line by line; a split across lines is not supported', () => {
    const file = new Scrubber().add(['line-one-secret\nline-two-secret\n']);
    expect(file.text('saw line-two-secret here')).toBe(`saw ${h('line-two-secret')} here`);
  });

  it('a digits-only secret never splits a longer number', () => {
    const d = new Scrubber().add(['4242424242']);
    expect(d.text('pin 4242424242 ok')).toBe(`pin ${h('4242424242')} ok`);
    expect(d.text('"time":142424242424299')).toBe('"time":142424242424299');
  });

  it('registerSecrets / scrub / scrubValue share one registry; URL credentials register their password', () => {
    registerSecrets(['registry-canary-7f3a', undefined, '']);
    registerUrlSecrets('https://bot:url%2Bcanary-99@git.example/repo.git');
    expect(scrub('pw registry-canary-7f3a')).toBe(`pw ${h('registry-canary-7f3a')}`);
    expect(scrub('token url+canary-99 in a message')).toBe(`token ${h('url+canary-99')} in a message`);
    const value = scrubValue({ a: ['registry-canary-7f3a'], e: new Error('failed with registry-canary-7f3a') }) as unknown as { a: string[]; e: { message: string } };
    expect(value.a).toEqual([h('registry-canary-7f3a')]);
    expect(value.e.message).toBe(`failed with ${h('registry-canary-7f3a')}`);
  });
});

describe('one set of rules for secrets found by key', () => {
  const fromEnvFile = secretKeyTest(['WELCOME']);

  it('a key is secret when it looks secret or the caller lists it (an env_file key)', () => {
    expect(['DB_PASSWORD', 'api_token', 'PRIVATE_KEY', 'aws_credentials', 'Secret'].every(isSecretKey)).toBe(true);
    expect(['MODE', 'TAG', 'WELCOME'].some(isSecretKey)).toBe(false);
    expect(fromEnvFile('WELCOME')).toBe(true);
    expect(fromEnvFile('MODE')).toBe(false);
  });

  it('env maps and env lists: render/live values are always hashed, report values once', () => {
    expect(redactEnv({ MODE: 'prod', DB_PASSWORD: 'hunter22', WELCOME: 'hi' }, ['WELCOME'])).toEqual({ MODE: 'prod', DB_PASSWORD: h('hunter22'), WELCOME: h('hi') });
    expect(redactEnvLike(['MODE=prod', 'API_TOKEN=t0k3n', '=odd', 'NOEQ'], isSecretKey)).toEqual(['MODE=prod', `API_TOKEN=${h('t0k3n')}`, '=odd', 'NOEQ']);
    // A live value that happens to look like a token is still the real value: hashed.
    expect(redactEnv({ TOKEN: h('x') })).toEqual({ TOKEN: h(h('x')) });
    // A finding that is already redacted stays as it is (idempotent report redaction).
    expect(redactEnvLike({ TOKEN: h('x'), MODE: 'a' }, isSecretKey)).toEqual({ TOKEN: h('x'), MODE: 'a' });
    expect(redactEnvLike(['TOKEN=abc'], isSecretKey)).toEqual([`TOKEN=${h('abc')}`]);
    expect(redactEnvLike('plain text', isSecretKey)).toBe('plain text');
  });

  it('assignment lines in files and in diffs share one grammar', () => {
    const lines = [
      ['export API_KEY = abc  ', `export API_KEY = ${h('abc')}  `],
      ['+export API_KEY=abc', `+export API_KEY=${h('abc')}`],
      ['  - DB_PASSWORD=pw1', `  - DB_PASSWORD=${h('pw1')}`],
      ['-  "private_key": k', `-  "private_key": ${h('k')}`],
      ['password = ini', `password = ${h('ini')}`],
      ['# DB_PASSWORD=commented', '# DB_PASSWORD=commented'],
      ['DB_PASSWORD=${DB_PASSWORD}', 'DB_PASSWORD=${DB_PASSWORD}'],
      [`DB_PASSWORD=${h('already')}`, `DB_PASSWORD=${h('already')}`],
      ['DB_PASSWORD=', 'DB_PASSWORD='],
      ['--- a/stacks/app/.env', '--- a/stacks/app/.env'],
      ['MODE=prod', 'MODE=prod'],
    ];
    for (const [line, expected] of lines) expect(redactAssignments(line!, isSecretKey), line).toBe(expected);
  });

  it('file content: by role and key first, then every known value of the stack anywhere', () => {
    const known = new Scrubber().add(['known-stack-secret']);
    expect(redactFileContent('ANY=value\n', 'env-file', () => false, known)).toBe(`ANY=${h('value')}\n`);
    expect(redactFileContent('TAG=1\nAPI_KEY=abc\n', 'dotenv', isSecretKey, known)).toBe(`TAG=1\nAPI_KEY=${h('abc')}\n`);
    expect(redactFileContent('line one\n\n', 'secret-file', () => false, known)).toBe(`${h('line one')}\n\n`);
    expect(redactFileContent('command: ["run", "known-stack-secret"]\nurl: https://u:pw-in-url@h/x\n', 'plain', isSecretKey, known)).toBe(
      `command: ["run", "${h('known-stack-secret')}"]\nurl: https://u:${h('pw-in-url')}@h/x\n`,
    );
  });

  it('scrubDeep with a value list also hides URL passwords, even with no values', () => {
    expect(scrubDeep({ m: ['see https://u:pw0rd-x@h/'] }, [])).toEqual({ m: [`see https://u:${h('pw0rd-x')}@h/`] });
  });
});

describe('the one scrubber is the only one', () => {
  async function sources(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) out.push(...(await sources(p)));
      else if (e.name.endsWith('.ts')) out.push(p);
    }
    return out;
  }

  it('no other module builds a sha256 token, matches URL passwords or secret-looking keys, or masks with ***', async () => {
    const src = path.resolve(import.meta.dirname, '../../../src');
    const own = [
      /sha256:\$\{/, // building the `sha256:<12 hex>` form
      /:\\\/\\\/\[\^.*@/, // a `scheme://user:password@` pattern (a URL check without `@` is not one)
      /\(pass\|secret/, // the DESIGN §3 key pattern
      /['"`]\*{3}['"`]|\[redacted\]/i, // another mask
    ];
    const offenders: string[] = [];
    for (const file of await sources(src)) {
      if (file === path.join(src, 'util', 'scrub.ts')) continue;
      const text = await readFile(file, 'utf8');
      for (const re of own) if (re.test(text)) offenders.push(`${path.relative(src, file)} ${re}`);
    }
    expect(offenders).toEqual([]);
  });
});
