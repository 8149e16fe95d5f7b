import { describe, expect, it } from 'vitest';
import { isEnvFile, scanEnvFileSecrets, scanForSecrets } from '../../../src/validate/secrets.js';
import { brief, lint, NGINX } from './helpers.js';

const AWS = ['AKIA', 'ABCDEFGHIJKLMNOP'].join('');
const BEGIN = (what: string) => ['-----BEGIN ', what, 'PRIVATE KEY-----'].join('');

describe('scanForSecrets', () => {
  it.each([
    { name: 'an AWS access key id', text: `a\nkey=${AWS}\n`, want: ['f:2 secret-aws-key'] },
    { name: 'two keys on two lines', text: `${AWS}\n\n"${AWS}"`, want: ['f:1 secret-aws-key', 'f:3 secret-aws-key'] },
    { name: 'not inside a longer word', text: `X${AWS}\n${AWS}Q\n`, want: [] },
    { name: 'too short', text: 'AKIAABCDEFGHIJKLMNO\n', want: [] },
    { name: 'lowercase is not a key id', text: AWS.toLowerCase(), want: [] },
    { name: 'an RSA private key', text: `\n${BEGIN('RSA ')}\nMII\n`, want: ['f:2 secret-private-key'] },
    { name: 'an OpenSSH private key', text: BEGIN('OPENSSH '), want: ['f:1 secret-private-key'] },
    { name: 'a PKCS#8 private key', text: BEGIN(''), want: ['f:1 secret-private-key'] },
    { name: 'an encrypted private key', text: BEGIN('ENCRYPTED '), want: ['f:1 secret-private-key'] },
    { name: 'a certificate is public', text: '-----BEGIN CERTIFICATE-----\n', want: [] },
    { name: 'a public key is public', text: '-----BEGIN PUBLIC KEY-----\n', want: [] },
  ])('$name', ({ text, want }) => {
    const found = scanForSecrets(text, 'f');
    expect(found.map(brief)).toEqual(want);
    for (const f of found) expect(f.message).not.toContain(AWS);
  });
});

describe('scanEnvFileSecrets', () => {
  it.each([
    { name: 'a literal password', text: 'DB_PASSWORD=hunter2\n', want: ['f:1 secret-env-value'] },
    { name: 'any key containing SECRET or TOKEN, any case', text: 'a=1\nclient_secret=x\nGithubToken: y\n', want: ['f:2 secret-env-value', 'f:3 secret-env-value'] },
    { name: 'export and quotes', text: 'export API_TOKEN="abc def"\n', want: ['f:1 secret-env-value'] },
    { name: 'a placeholder is still a committed value', text: 'DB_PASSWORD=changeme\n', want: ['f:1 secret-env-value'] },
    { name: 'a default inside a reference is a committed value', text: 'DB_PASSWORD=${DB_PASSWORD:-hunter2}\n', want: ['f:1 secret-env-value'] },
    { name: 'the last assignment is the one reported', text: 'DB_PASSWORD=\nDB_PASSWORD=x\n', want: ['f:2 secret-env-value'] },
    { name: 'an empty value', text: 'DB_PASSWORD=\nAPI_TOKEN=""\n', want: [] },
    { name: 'a pure reference', text: 'DB_PASSWORD=${DB_PASSWORD}\nAPI_TOKEN=$API_TOKEN\n', want: [] },
    { name: 'a bare name (inherited)', text: 'DB_PASSWORD\n', want: [] },
    { name: 'a *_FILE key names a file', text: 'POSTGRES_PASSWORD_FILE=/run/secrets/db\n', want: [] },
    { name: 'other keys', text: 'TZ=UTC\nPASSWD_POLICY=strict\n', want: [] },
    { name: 'a comment', text: '# DB_PASSWORD=hunter2\n', want: [] },
    { name: 'a file the env parser refuses (the loader reports it)', text: 'DB_PASSWORD="unterminated\n', want: [] },
  ])('$name', ({ text, want }) => {
    const found = scanEnvFileSecrets(text, 'f');
    expect(found.map(brief)).toEqual(want);
    for (const f of found) expect(f.message).not.toMatch(/hunter2|changeme|abc def/);
  });

  it.each([
    ['stacks/a/.env', true],
    ['stacks/a/conf/app.env', true],
    ['stacks/a/.envrc', false],
    ['stacks/a/env.txt', false],
  ])('%s is an env file: %s', (file, want) => {
    expect(isEnvFile(file)).toBe(want);
  });
});

describe('secrets in a repo', () => {
  it('scans every file of stacks/, locks/ and fleet.yaml; env values only in stacks', async () => {
    const result = await lint({
      'stacks/app/compose.yaml': NGINX,
      'stacks/app/.env': 'DB_PASSWORD=x\n',
      'stacks/app/conf/deep/creds.ini': `key=${AWS}\n`,
      'locks/README.md': `${BEGIN('EC ')}\n`,
      'locks/notes.env': 'API_TOKEN=x\n',
      'fleet.yaml': `# ${AWS}\n`,
    });
    expect(result.findings.map(brief)).toEqual([
      'fleet.yaml:1 secret-aws-key',
      'locks/README.md:1 secret-private-key',
      'stacks/app/.env:1 secret-env-value',
      'stacks/app/conf/deep/creds.ini:1 secret-aws-key',
    ]);
  });
});
