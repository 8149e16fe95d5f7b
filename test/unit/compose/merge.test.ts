import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { applyExtends } from '../../../src/compose/extends.js';
import { canonicalize, enforceUnicity, mergeModels, type Model } from '../../../src/compose/merge.js';

const y = (text: string) => canonicalize(parse(text) as Model);
const merged = (base: string, over: string) => enforceUnicity(mergeModels(y(base), y(over)));

describe('override merge rules (compose-go override package)', () => {
  it.each<[string, string, string, unknown]>([
    ['mappings merge', 'services: {a: {image: x, deploy: {resources: {limits: {cpus: "1"}}}}}', 'services: {a: {deploy: {resources: {limits: {memory: 1g}}}}}', { image: 'x', deploy: { resources: { limits: { cpus: '1', memory: '1g' } } } }],
    ['scalars replace', 'services: {a: {image: x, restart: always}}', 'services: {a: {image: y}}', { image: 'y', restart: 'always' }],
    ['null in the override keeps the base value', 'services: {a: {image: x, user: app}}', 'services: {a: {user: null}}', { image: 'x', user: 'app' }],
    ['sequences append', 'services: {a: {image: x, cap_add: [NET_ADMIN]}}', 'services: {a: {cap_add: [SYS_TIME]}}', { image: 'x', cap_add: ['NET_ADMIN', 'SYS_TIME'] }],
    ['command replaces', 'services: {a: {image: x, command: [a, b]}}', 'services: {a: {command: [c]}}', { image: 'x', command: ['c'] }],
    ['entrypoint replaces', 'services: {a: {image: x, entrypoint: [sh, -c]}}', 'services: {a: {entrypoint: bash}}', { image: 'x', entrypoint: 'bash' }],
    ['healthcheck.test replaces, the rest merges', 'services: {a: {image: x, healthcheck: {test: [CMD, a], interval: 5s}}}', 'services: {a: {healthcheck: {test: [CMD, b]}}}', { image: 'x', healthcheck: { test: ['CMD', 'b'], interval: '5s' } }],
    ['environment list + list merges by key', 'services: {a: {image: x, environment: [FOO=BAR, KEEP=1]}}', 'services: {a: {environment: [FOO=NEW, QIX=ZOT, EMPTY=, NIL]}}', { image: 'x', environment: { FOO: 'NEW', KEEP: '1', QIX: 'ZOT', EMPTY: '', NIL: null } }],
    ['environment map + map merges by key', 'services: {a: {image: x, environment: {FOO: BAR}}}', 'services: {a: {environment: {EMPTY: "", NIL: null, QIX: ZOT}}}', { image: 'x', environment: { FOO: 'BAR', EMPTY: '', NIL: null, QIX: 'ZOT' } }],
    ['environment map + list merges by key', 'services: {a: {image: x, environment: {FOO: BAR}}}', 'services: {a: {environment: [FOO=BAZ, QIX=ZOT]}}', { image: 'x', environment: { FOO: 'BAZ', QIX: 'ZOT' } }],
    ['environment numbers become strings', 'services: {a: {environment: {FOO: 1}}}', 'services: {a: {environment: {FOO: 3, B: true}}}', { environment: { FOO: '3', B: 'true' } }],
    ['a bare key in the override means "from the environment"', 'services: {a: {environment: {FOO: "1"}}}', 'services: {a: {environment: [FOO]}}', { environment: { FOO: null } }],
    ['labels list + map merge by key', 'services: {a: {labels: [a=1, b=2]}}', 'services: {a: {labels: {b: "3", c: "4"}}}', { labels: { a: '1', b: '3', c: '4' } }],
    ['volumes merge by target', 'services: {a: {volumes: ["a:/a", {type: bind, source: ./b, target: /b}]}}', 'services: {a: {volumes: ["c:/c", "./b2:/b:ro"]}}', { volumes: ['a:/a', './b2:/b:ro', 'c:/c'] }],
    ['secrets merge by target', 'services: {a: {secrets: [s1, {source: s2, target: /x}]}}', 'services: {a: {secrets: [{source: s3, target: /x}, s1]}}', { secrets: ['s1', { source: 's3', target: '/x' }] }],
    ['env_file appends and dedupes by path', 'services: {a: {env_file: a.env}}', 'services: {a: {env_file: [b.env, a.env]}}', { env_file: ['a.env', 'b.env'] }],
    ['networks list + map merge', 'services: {a: {networks: [front]}}', 'services: {a: {networks: {back: {aliases: [db]}}}}', { networks: { front: null, back: { aliases: ['db'] } } }],
    ['depends_on lists union', 'services: {a: {depends_on: [b]}}', 'services: {a: {depends_on: [c, b]}}', { depends_on: ['b', 'c'] }],
    ['depends_on list + map', 'services: {a: {depends_on: [b]}}', 'services: {a: {depends_on: {c: {condition: service_healthy}}}}', { depends_on: { b: { condition: 'service_started' }, c: { condition: 'service_healthy' } } }],
    ['logging with another driver replaces', 'services: {a: {logging: {driver: json-file, options: {max-size: 1m}}}}', 'services: {a: {logging: {driver: syslog}}}', { logging: { driver: 'syslog' } }],
    ['logging with the same driver merges', 'services: {a: {logging: {driver: json-file, options: {max-size: 1m}}}}', 'services: {a: {logging: {options: {max-file: "3"}}}}', { logging: { driver: 'json-file', options: { 'max-size': '1m', 'max-file': '3' } } }],
    ['dns dedupes', 'services: {a: {dns: [1.1.1.1]}}', 'services: {a: {dns: [8.8.8.8, 1.1.1.1]}}', { dns: ['1.1.1.1', '8.8.8.8'] }],
  ])('%s', (_name, base, over, service) => {
    expect((merged(base, over).services as Model).a).toEqual(service);
  });

  it('adds services and top-level sections from the override', () => {
    const m = merged('services: {a: {image: x}}\nvolumes: {data: {}}', 'services: {b: {image: y}}\nnetworks: {n: {}}');
    expect(m).toEqual({ services: { a: { image: 'x' }, b: { image: 'y' } }, volumes: { data: {} }, networks: { n: {} } });
  });

  it('refuses replacing a mapping by a list', () => {
    expect(() => merged('services: {a: {deploy: {replicas: 1}}}', 'services: {a: {deploy: [x]}}')).toThrow('cannot override services.a.deploy');
  });

  it('a single file with duplicate list entries keeps the last one per key', () => {
    const m = enforceUnicity(y('services: {a: {volumes: ["x:/d", "y:/d"], environment: [A=1, A=2]}}'));
    expect((m.services as Model).a).toEqual({ volumes: ['y:/d'], environment: { A: '2' } });
  });
});

describe('extends in the same file', () => {
  const extended = (text: string) => {
    const m = y(text);
    applyExtends(m);
    return m.services as Model;
  };

  it('merges the service onto its base with the merge rules', () => {
    const s = extended(`
services:
  base:
    image: app:1
    environment: [A=1, B=2]
    command: [run]
    ports: ["80"]
  web:
    extends: base
    environment: {B: "3"}
    command: [serve]
    ports: ["443"]
`);
    expect(s.web).toEqual({ image: 'app:1', environment: { A: '1', B: '3' }, command: ['serve'], ports: ['80', '443'] });
    expect(s.base).toEqual({ image: 'app:1', environment: { A: '1', B: '2' }, command: ['run'], ports: ['80'] });
  });

  it('follows chains and the long form', () => {
    const s = extended('services: {a: {image: x, user: u}, b: {extends: a, restart: always}, c: {extends: {service: b}, user: v}}');
    expect(s.c).toEqual({ image: 'x', user: 'v', restart: 'always' });
  });

  it.each([
    ['services: {a: {extends: {file: other.yaml, service: b}}}', 'extends.file is not supported'],
    ['services: {a: {extends: nope, image: x}}', 'extends service "nope", which is not defined in the same file'],
    ['services: {a: {extends: b}, b: {extends: a}}', 'extends cycle'],
    ['services: {a: {extends: {}}}', 'must name a service'],
  ])('refuses %s', (text, message) => {
    expect(() => extended(text)).toThrow(message);
  });
});
