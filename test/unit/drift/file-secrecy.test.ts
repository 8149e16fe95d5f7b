import { describe, expect, it } from 'vitest';
import { classifyFile } from '../../../src/drift/file-secrecy.js';
import { stackSecrets } from '../../../src/drift/stack-secrets.js';
import { redactFileContent, redactValue } from '../../../src/util/scrub.js';
import { desiredService, desiredStack, SECRET } from './fixtures.js';

const stack = desiredStack({
  model: { secrets: { tls: { file: './certs/tls.key' }, abs: { file: '/srv/repo/stacks/shop/pw.txt' } } },
  services: [desiredService({ raw: { env_file: ['./app.env', { path: 'env/extra.list', required: false }] } })],
});
const secrets = stackSecrets(stack);
const h = redactValue;

describe('classifyFile', () => {
  it.each([
    ['stacks/shop/certs/tls.key', 'secret-file'],
    ['stacks/shop/pw.txt', 'secret-file'],
    ['stacks/shop/app.env', 'env-file'],
    ['stacks/shop/env/extra.list', 'env-file'],
    ['stacks/shop/other.env', 'env-file'],
    ['stacks/shop/.env.local', 'env-file'],
    ['stacks/shop/.env', 'dotenv'],
    ['stacks/shop/compose.yaml', 'plain'],
    ['stacks/shop/conf/nginx.conf', 'plain'],
  ])('%s → %s', (p, expected) => {
    expect(classifyFile(p, stack)).toBe(expected);
  });
});

describe('classifyFile from the loader\'s mountedFiles (env_file is not kept in raw)', () => {
  const loaded = desiredStack({
    model: { configs: { app_cfg: { file: './cfg/app.yml' } } },
    services: [
      desiredService({
        raw: {},
        mounts: [{ type: 'bind', source: './conf', target: '/etc/app', readOnly: true }],
        mountedFiles: ['cfg/app.yml', 'conf/app.conf', 'vars/app.vars'],
      }),
      desiredService({ name: 'root', raw: {}, mounts: [{ type: 'bind', source: '.', target: '/src', readOnly: false }], mountedFiles: ['compose.yaml', 'x.vars'] }),
    ],
  });
  it.each([
    ['stacks/shop/vars/app.vars', 'env-file'],
    ['stacks/shop/conf/app.conf', 'plain'],
    ['stacks/shop/cfg/app.yml', 'plain'],
    ['stacks/shop/x.vars', 'plain'],
    ['stacks/shop/unrelated.txt', 'plain'],
  ])('%s → %s', (p, expected) => {
    expect(classifyFile(p, loaded)).toBe(expected);
  });
});

describe('redactFileContent', () => {
  it.each([
    ['env-file', 'A=1\n# comment=keep\nexport B = two\n\nC=\n', `A=${h('1')}\n# comment=keep\nexport B = ${h('two')}\n\nC=\n`],
    ['dotenv', 'TAG=1.0\nAPI_KEY=abc\nDB_PASSWORD=x\nFROM_FILE=y\n', `TAG=1.0\nAPI_KEY=${h('abc')}\nDB_PASSWORD=${h('x')}\nFROM_FILE=${h('y')}\n`],
    ['secret-file', '-----BEGIN-----\n#x\n\n', `${h('-----BEGIN-----')}\n${h('#x')}\n\n`],
    [
      'plain',
      'image: app:1\n  api_token: "abc"\n  - DB_PASSWORD=pw1\n  "private_key": k\npassword = ini\nsecrets:\n',
      `image: app:1\n  api_token: ${h('"abc"')}\n  - DB_PASSWORD=${h('pw1')}\n  "private_key": ${h('k')}\npassword = ${h('ini')}\nsecrets:\n`,
    ],
    ['plain', `MODE: ${SECRET}\n`, `MODE: ${h(SECRET)}\n`],
    ['plain', 'FROM_FILE=old-value\nOTHER=1\n', `FROM_FILE=${h('old-value')}\nOTHER=1\n`],
  ] as const)('%s', (secrecy, input, expected) => {
    expect(redactFileContent(input, secrecy, (k) => secrets.isSecretEnv(k), secrets.scrubber)).toBe(expected);
  });
});
