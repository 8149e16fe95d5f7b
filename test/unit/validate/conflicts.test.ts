import { describe, expect, it } from 'vitest';
import { hostsOfRule } from '../../../src/validate/conflicts.js';
import type { Fleet } from '../../../src/compose/fleet.js';
import { hostGroups, type HostGroup } from '../../../src/validate/fleet-check.js';
import { brief, compose, lint } from './helpers.js';

describe('hostsOfRule', () => {
  it.each([
    ['Host(`a.example.com`)', ['a.example.com']],
    ['Host(`A.Example.com`)', ['a.example.com']],
    ['Host(`a`, `b`)', ['a', 'b']],
    ['Host(`a`) || Host(`b`)', ['a', 'b']],
    ['(Host(`a`) || Host(`b`)) || Host(`c`)', ['a', 'b', 'c']],
    ['( Host(`a`) )', ['a']],
    ['Host("a") || Host(\'b\')', ['a', 'b']],
    ['Host(`a`) && PathPrefix(`/api`)', undefined],
    ['Host(`a`) || PathPrefix(`/api`)', undefined],
    ['(Host(`a`) || Host(`b`)) && Method(`GET`)', undefined],
    ['HostRegexp(`^.+\\.example\\.com$`)', undefined],
    ['PathPrefix(`/`)', undefined],
    ['Host(`a||b`)', ['a||b']],
    ['', undefined],
  ])('%s → %j', (rule, want) => {
    expect(hostsOfRule(rule)).toEqual(want);
  });
});

const svc = (name: string, ...lines: string[]) => compose('services:', `  ${name}:`, '    image: nginx:1.27.3', ...lines);
const withPorts = (...ports: string[]) => svc('app', '    ports:', ...ports.map((p) => `      - ${JSON.stringify(p)}`));

describe('port conflicts', () => {
  it.each([
    { name: 'same port on all interfaces', a: ['8080:80'], b: ['8080:80'], conflict: true },
    { name: 'specific IP vs all interfaces', a: ['127.0.0.1:8080:80'], b: ['8080:81'], conflict: true },
    { name: 'explicit 0.0.0.0 vs a specific IP', a: ['0.0.0.0:8080:80'], b: ['10.0.0.1:8080:80'], conflict: true },
    { name: 'the same specific IP', a: ['127.0.0.1:8080:80'], b: ['127.0.0.1:8080:80'], conflict: true },
    { name: 'two different IPs', a: ['127.0.0.1:8080:80'], b: ['127.0.0.2:8080:80'], conflict: false },
    { name: 'different protocols', a: ['53:53/udp'], b: ['53:53/tcp'], conflict: false },
    { name: 'different ports', a: ['8080:80'], b: ['8081:80'], conflict: false },
    { name: 'overlapping host ranges', a: ['8000-8010:80'], b: ['8005-8020:80'], conflict: true },
    { name: 'a port inside a range', a: ['9000-9005:9000-9005'], b: ['9003:80'], conflict: true },
    { name: 'adjacent ranges', a: ['8000-8010:80'], b: ['8011-8020:80'], conflict: false },
    { name: 'unpublished (ephemeral) ports', a: ['80'], b: ['80'], conflict: false },
  ])('$name', async ({ a, b, conflict }) => {
    const result = await lint({ 'stacks/a/compose.yaml': withPorts(...a), 'stacks/b/compose.yaml': withPorts(...b) });
    expect(result.findings.map(brief)).toEqual(conflict ? ['stacks/b/compose.yaml:5 port-conflict'] : []);
  });

  it('long syntax, override files, and the message names the other stack', async () => {
    const result = await lint({
      'stacks/a/compose.yaml': svc('web', '    ports:', '      - target: 80', '        published: "8443"', '        host_ip: 127.0.0.1'),
      'stacks/b/compose.yaml': svc('api'),
      'stacks/b/compose.override.yaml': compose('services:', '  api:', '    ports:', '      - "8443:443"'),
    });
    expect(result.findings.map(brief)).toEqual(['stacks/b/compose.override.yaml:4 port-conflict']);
    expect(result.findings[0]?.message).toBe(
      'host port *:8443/tcp is also published by stack a (service web, stacks/a/compose.yaml:5) on every host; only one container can bind it — change one of them',
    );
  });

  it('two services of one stack on the same port conflict too', async () => {
    const result = await lint({ 'stacks/a/compose.yaml': compose('services:', '  x:', '    image: nginx:1.27.3', '    ports: ["80:80"]', '  y:', '    image: nginx:1.27.3', '    ports: ["80:8080"]') });
    expect(result.findings.map(brief)).toEqual(['stacks/a/compose.yaml:7 port-conflict']);
  });
});

describe('Traefik conflicts', () => {
  const labelled = (service: string, ...labels: string[]) => svc(service, '    labels:', ...labels.map((l) => `      ${l}`));

  it.each([
    {
      name: 'the same http router name',
      a: labelled('web', 'traefik.http.routers.app.entrypoints: websecure'),
      b: labelled('api', 'traefik.http.routers.app.tls: "true"'),
      want: ['stacks/b/compose.yaml:5 traefik-router-conflict'],
    },
    {
      name: 'the same tcp router name (list syntax)',
      a: labelled('web', '- traefik.tcp.routers.db.entrypoints=pg'),
      b: labelled('api', '- traefik.tcp.routers.db.rule=HostSNI(`*`)'),
      want: ['stacks/b/compose.yaml:5 traefik-router-conflict'],
    },
    {
      name: 'an http and a tcp router of the same name do not collide',
      a: labelled('web', 'traefik.http.routers.app.tls: "true"'),
      b: labelled('api', 'traefik.tcp.routers.app.tls: "true"'),
      want: [],
    },
    {
      name: 'the same host in two rules',
      a: labelled('web', 'traefik.http.routers.web.rule: Host(`shop.example.com`) || Host(`www.example.com`)'),
      b: labelled('api', 'traefik.http.routers.api.rule: Host(`WWW.example.com`)'),
      want: ['stacks/b/compose.yaml:5 traefik-host-conflict'],
    },
    {
      name: 'one host on different paths is fine',
      a: labelled('web', 'traefik.http.routers.web.rule: Host(`example.com`)'),
      b: labelled('api', 'traefik.http.routers.api.rule: Host(`example.com`) && PathPrefix(`/api`)'),
      want: [],
    },
    {
      name: 'a service with traefik.enable=false is ignored by Traefik',
      a: labelled('web', 'traefik.http.routers.app.rule: Host(`a.example.com`)'),
      b: labelled('api', 'traefik.enable: "false"', 'traefik.http.routers.app.rule: Host(`a.example.com`)'),
      want: [],
    },
  ])('$name', async ({ a, b, want }) => {
    const result = await lint({ 'stacks/a/compose.yaml': a, 'stacks/b/compose.yaml': b });
    expect(result.findings.map(brief)).toEqual(want);
  });

  it('one router defined by several labels is one claim', async () => {
    const a = labelled('web', 'traefik.http.routers.app.rule: Host(`a.example.com`)', 'traefik.http.routers.app.tls: "true"');
    const result = await lint({ 'stacks/a/compose.yaml': a, 'stacks/b/compose.yaml': a });
    expect(result.findings.map(brief)).toEqual(['stacks/b/compose.yaml:5 traefik-host-conflict', 'stacks/b/compose.yaml:5 traefik-router-conflict']);
  });
});

describe('host selection', () => {
  const fleet = (text: string) => ({ 'fleet.yaml': text });
  const same = { 'stacks/a/compose.yaml': withPorts('8080:80'), 'stacks/b/compose.yaml': withPorts('8080:80') };
  const messages = async (files: Record<string, string>, host?: string) => (await lint(files, {}, host)).findings.filter((f) => f.kind === 'port-conflict').map((f) => f.message.replace(/.*\) (on [^;]+);.*/, '$1'));

  it.each([
    { name: 'no fleet.yaml: every stack on every host', files: same, want: ['on every host'] },
    { name: 'fleet.yaml without hosts:', files: { ...same, ...fleet('stacks:\n  a: { sync: manual }\n') }, want: ['on every host'] },
    { name: 'on different hosts', files: { ...same, ...fleet('hosts:\n  h1: [a]\n  h2: [b]\n') }, want: [] },
    { name: 'together on two hosts', files: { ...same, ...fleet('hosts:\n  h1: [a, b]\n  h2: [a, b]\n  h3: [a]\n') }, want: ['on hosts h1, h2'] },
    { name: 'one named, one on "*"', files: { ...same, ...fleet('hosts:\n  h1: [a]\n  h2: []\n  "*": [b]\n') }, want: ['on host h1'] },
    { name: 'both on "*"', files: { ...same, ...fleet('hosts:\n  h1: []\n  "*": [a, b]\n') }, want: ['on every host'] },
    { name: 'an invalid fleet.yaml: no guesses', files: { ...same, ...fleet('hosts: [a, b]\n') }, want: [] },
  ])('$name', async ({ files, want }) => {
    expect(await messages(files)).toEqual(want);
  });

  it('--host limits the check to that host', async () => {
    const files = { ...same, ...fleet('hosts:\n  h1: [a, b]\n  h2: [a]\n') };
    expect(await messages(files, 'h1')).toEqual(['on host h1']);
    expect(await messages(files, 'h2')).toEqual([]);
    expect(await messages(same, 'anything')).toEqual(['on host anything']);
  });

  it.each<{ fleet: Fleet | undefined; host: string | undefined; want: HostGroup[] }>([
    { fleet: undefined, host: undefined, want: [{ stacks: ['a', 'b'] }] },
    { fleet: { policies: {}, hosts: { h1: ['a'], '*': ['b'] } }, host: undefined, want: [{ hosts: ['h1'], stacks: ['a', 'b'] }, { stacks: ['b'] }] },
    { fleet: { policies: {}, hosts: { h1: ['a'] } }, host: undefined, want: [{ hosts: ['h1'], stacks: ['a'] }] },
    { fleet: { policies: {}, hosts: { h1: ['a'] } }, host: 'h9', want: [{ hosts: ['h9'], stacks: [] }] },
  ])('hostGroups($fleet, $host)', ({ fleet: f, host, want }) => {
    expect(hostGroups(f, ['a', 'b'], host)).toEqual(want);
  });
});
