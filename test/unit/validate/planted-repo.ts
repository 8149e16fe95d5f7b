/**
 * A desired-state repo planted with every problem `driftd validate` knows, and where each one
 * must be reported. Shared by the unit test (validateRepo) and the CLI integration test.
 */
import { writeTree, type Tree } from '../compose/fixture.js';

// Built at run time so that no secret scanner mistakes this file for a leak.
export const AWS_KEY = ['AKIA', 'IOSFODNN7', 'EXAMPLE'].join('');
const PRIVATE_KEY = ['-----BEGIN RSA ', 'PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA ', 'PRIVATE KEY-----\n'].join('');
export const ENV_SECRET = 'hunter2-planted';

/** Over the default 1 MiB limit. */
export const BIG_FILE_BYTES = 1024 * 1024 + 1;

export interface Expected {
  kind: string;
  file: string;
  line?: number;
  severity?: 'error' | 'warning';
}

export const PLANTED_TREE: Tree = {
  'fleet.yaml': ['hosts:', '  web-01: [alpha, beta, policy]', '  web-02: [gamma, missing]', '  "*": [escape]', ''].join('\n'),

  // conflicts: alpha and beta both run on web-01
  'stacks/alpha/compose.yaml': [
    'services:',
    '  app:',
    '    image: nginx:1.27.3',
    '    ports:',
    '      - "8080:80"',
    '    labels:',
    '      traefik.http.routers.app.rule: Host(`app.example.com`)',
    '',
  ].join('\n'),
  'stacks/alpha/.env': ['TZ=UTC', `DB_PASSWORD=${ENV_SECRET}`, 'API_TOKEN=${API_TOKEN}', ''].join('\n'),
  'stacks/beta/compose.yaml': [
    'services:',
    '  api:',
    '    image: nginx:1.27.3',
    '    ports:',
    '      - "127.0.0.1:8080:8080"',
    '    labels:',
    '      - traefik.http.routers.app.rule=Host(`www.example.com`) || Host(`APP.example.com`)',
    '',
  ].join('\n'),
  'stacks/beta/conf/aws.txt': ['# credentials', `aws_access_key_id = ${AWS_KEY}`, ''].join('\n'),
  'stacks/beta/conf/tls.key': `\n\n${PRIVATE_KEY}`,
  // gamma publishes 8080 too, but runs on web-02 only: no conflict
  'stacks/gamma/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', '    ports: ["8080:80"]', ''].join('\n'),

  // policy warnings
  'stacks/policy/compose.yaml': [
    'services:',
    '  floating:',
    '    image: nginx:latest',
    '  tagless:',
    '    image: redis',
    '    privileged: true',
    '    network_mode: host',
    '    volumes:',
    '      - ./data:/data',
    '      - /var/run/docker.sock:/var/run/docker.sock',
    '',
  ].join('\n'),

  // layout: a symlink that leaves the stack, a bind mount that climbs out, an oversized file
  'stacks/escape/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', ''].join('\n'),
  'stacks/climb/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', '    volumes:', '      - ../alpha:/alpha', ''].join('\n'),
  'stacks/escape/passwd': { symlink: '/etc/passwd' },
  'stacks/big/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', ''].join('\n'),
  'stacks/Bad_Name/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', ''].join('\n'),

  // YAML
  'stacks/dupkey/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', '    image: nginx:1.27.4', ''].join('\n'),
  'stacks/bomb/compose.yaml': [
    'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    'x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'services:',
    '  app:',
    '    image: nginx:1.27.3',
    '    labels: { bomb: *e }',
    '',
  ].join('\n'),

  // interpolation
  'stacks/badvar/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', '    environment:', '      A: "${ foo}"', ''].join('\n'),
  'stacks/required/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', '    environment:', '      DB_HOST: ${DB_HOST:?set DB_HOST in the host env file}', ''].join('\n'),

  // compose schema
  'stacks/schema/compose.yaml': ['services:', '  app:', '    image: nginx:1.27.3', '    restartt: always', '    ports:', '      - { target: 80, publishd: 8081 }', ''].join('\n'),

  // locks
  'locks/alpha.lock.json': '{ "version": 1,\n  "stack": "alpha",\n',
  'locks/ghost.lock.json': `${JSON.stringify({ version: 1, stack: 'ghost', composeSha256: 'a'.repeat(64), images: {} }, null, 2)}\n`,
  'locks/README.md': 'not a lock\n',
};

export const EXPECTED: Expected[] = [
  { kind: 'fleet-unknown-stack', file: 'fleet.yaml', line: 3 },
  { kind: 'lock-invalid', file: 'locks/alpha.lock.json', line: 3 },
  { kind: 'lock-orphan', file: 'locks/ghost.lock.json', severity: 'warning' },
  { kind: 'invalid-stack-name', file: 'stacks/Bad_Name' },
  { kind: 'secret-env-value', file: 'stacks/alpha/.env', line: 2 },
  { kind: 'interpolation-error', file: 'stacks/badvar/compose.yaml', line: 5 },
  { kind: 'port-conflict', file: 'stacks/beta/compose.yaml', line: 5 },
  { kind: 'traefik-router-conflict', file: 'stacks/beta/compose.yaml', line: 7 },
  { kind: 'traefik-host-conflict', file: 'stacks/beta/compose.yaml', line: 7 },
  { kind: 'secret-aws-key', file: 'stacks/beta/conf/aws.txt', line: 2 },
  { kind: 'secret-private-key', file: 'stacks/beta/conf/tls.key', line: 3 },
  { kind: 'file-too-large', file: 'stacks/big/big.bin' },
  { kind: 'yaml-error', file: 'stacks/bomb/compose.yaml', line: 2 },
  { kind: 'yaml-error', file: 'stacks/dupkey/compose.yaml', line: 4 },
  { kind: 'unsafe-path', file: 'stacks/climb/compose.yaml', line: 5 },
  { kind: 'unsafe-path', file: 'stacks/escape/passwd' },
  { kind: 'image-latest', file: 'stacks/policy/compose.yaml', line: 3, severity: 'warning' },
  { kind: 'image-latest', file: 'stacks/policy/compose.yaml', line: 5, severity: 'warning' },
  { kind: 'privileged', file: 'stacks/policy/compose.yaml', line: 6, severity: 'warning' },
  { kind: 'host-network', file: 'stacks/policy/compose.yaml', line: 7, severity: 'warning' },
  { kind: 'host-bind-mount', file: 'stacks/policy/compose.yaml', line: 10, severity: 'warning' },
  { kind: 'docker-socket', file: 'stacks/policy/compose.yaml', line: 10, severity: 'warning' },
  { kind: 'interpolation-error', file: 'stacks/required/compose.yaml', line: 5 },
  { kind: 'compose-schema', file: 'stacks/schema/compose.yaml', line: 4 },
  { kind: 'compose-schema', file: 'stacks/schema/compose.yaml', line: 6 },
];

/** Writes the planted repo into `root` (an empty directory). */
export function plantRepo(root: string): void {
  writeTree(root, { ...PLANTED_TREE, 'stacks/big/big.bin': 'x'.repeat(BIG_FILE_BYTES) });
}
