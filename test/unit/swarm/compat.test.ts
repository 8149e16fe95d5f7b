import { describe, expect, it } from 'vitest';
import { swarmIssues } from '../../../src/swarm/compat.js';

const svc = (def: Record<string, unknown>): unknown => ({ services: { web: { image: 'nginx:1.27', ...def } } });
const brief = (model: unknown): string[] => swarmIssues(model).map((i) => `${i.severity} ${i.path.join('.')}`);

describe('swarmIssues', () => {
  it('a plain service passes', () => {
    expect(swarmIssues(svc({ ports: ['8080:80'], deploy: { replicas: 2 }, cap_add: ['NET_ADMIN'], healthcheck: { test: ['CMD', 'true'] } }))).toEqual([]);
  });

  it.each([
    ['build', { build: '.' }],
    ['volumes_from', { volumes_from: ['db'] }],
    ['volume_driver', { volume_driver: 'local' }],
    ['mem_limit', { mem_limit: '1g' }],
    ['memswap_limit', { memswap_limit: '1g' }],
    ['cpu_shares', { cpu_shares: 512 }],
    ['cpu_quota', { cpu_quota: 5000 }],
    ['cpuset', { cpuset: '0' }],
    ['cpus', { cpus: 1.5 }],
    ['mem_reservation', { mem_reservation: '1g' }],
    ['privileged', { privileged: true }],
    ['devices', { devices: ['/dev/fuse'] }],
    ['network_mode', { network_mode: 'host' }],
    ['security_opt', { security_opt: ['no-new-privileges:true'] }],
    ['pid', { pid: 'host' }],
    ['ipc', { ipc: 'host' }],
    ['userns_mode', { userns_mode: 'host' }],
    ['cgroup_parent', { cgroup_parent: 'x' }],
  ])('%s is an error', (key, def) => {
    expect(brief(svc(def))).toEqual([`error services.web.${key}`]);
    expect(swarmIssues(svc(def))[0]?.message).toMatch(new RegExp(`^services\\.web\\.${key}: `));
  });

  it.each([
    ['restart', { restart: 'always' }, /deploy\.restart_policy/],
    ['container_name', { container_name: 'web' }, /names each task/],
    ['links', { links: ['db'] }, /service name/],
    ['external_links', { external_links: ['x'] }, /network/],
    ['expose', { expose: ['80'] }, /every port/],
    ['domainname', { domainname: 'x' }, /image/],
    ['mac_address', { mac_address: '02:42:ac:11:00:02' }, /overlay/],
    ['shm_size', { shm_size: '1g' }, /tmpfs/],
  ])('%s is a warning with its replacement', (key, def, advice) => {
    const issues = swarmIssues(svc(def));
    expect(issues.map((i) => `${i.severity} ${i.path.join('.')}`)).toEqual([`warning services.web.${key}`]);
    expect(issues[0]?.message).toMatch(advice);
  });

  it('depends_on: the short list is a warning, the long form an error (docker stack deploy refuses it)', () => {
    expect(brief(svc({ depends_on: ['db'] }))).toEqual(['warning services.web.depends_on']);
    expect(brief(svc({ depends_on: { db: { condition: 'service_healthy' } } }))).toEqual(['error services.web.depends_on']);
  });

  it('a port bound to one host address is an error: the ingress would publish it everywhere', () => {
    const model = svc({ ports: ['127.0.0.1:8080:80', '8081:81', '0.0.0.0:8082:82', '[::1]:8083:83', { target: 84, published: 8084, host_ip: '10.0.0.1' }, { target: 85, published: 8085 }, '9000-9001:9000-9001'] });
    expect(brief(model)).toEqual(['error services.web.ports.0', 'error services.web.ports.3', 'error services.web.ports.4']);
    expect(swarmIssues(model)[0]?.message).toContain('reachable from outside');
  });

  it('reports every service and every key, keys sorted', () => {
    const model = { services: { a: { image: 'x', restart: 'always', build: '.' }, b: { image: 'y', privileged: true } } };
    expect(brief(model)).toEqual(['error services.a.build', 'warning services.a.restart', 'error services.b.privileged']);
  });

  it('hostile shapes: prototype-key names and keys, non-object services, no services', () => {
    const model = JSON.parse('{"services":{"__proto__":{"image":"x","restart":"no"},"constructor":{"image":"y","toString":1,"hasOwnProperty":2},"toString":"bad","n":null}}') as unknown;
    expect(brief(model)).toEqual(['warning services.__proto__.restart']);
    for (const m of [null, 'x', 1, [], {}, { services: [] }, { services: 'x' }]) expect(swarmIssues(m)).toEqual([]);
  });
});
