import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { engineEndpointFor } from '../../../src/live/engine-endpoint.js';
import { sshDialArgs } from '../../../src/live/engine-ssh.js';

describe('engineEndpointFor (DOCKER_HOST syntax)', () => {
  it.each([
    ['unix:///var/run/docker.sock', {}, { transport: 'unix', socketPath: '/var/run/docker.sock' }],
    ['tcp://10.0.0.5:2375', {}, { transport: 'http', host: '10.0.0.5', port: 2375 }],
    ['tcp://docker.internal', {}, { transport: 'http', host: 'docker.internal', port: 2375 }],
    ['http://[::1]:2375', {}, { transport: 'http', host: '::1', port: 2375 }],
    ['tcp://docker.internal:2376', {}, { transport: 'https', host: 'docker.internal', port: 2376, tls: {} }],
    ['tcp://docker.internal:4243', { DOCKER_TLS_VERIFY: '1' }, { transport: 'https', host: 'docker.internal', port: 4243, tls: {} }],
    ['https://docker.internal', {}, { transport: 'https', host: 'docker.internal', port: 2376, tls: {} }],
    ['ssh://build-01', {}, { transport: 'ssh', host: 'build-01' }],
    ['ssh://ops@build-01', {}, { transport: 'ssh', host: 'build-01', user: 'ops' }],
    ['ssh://ops@build-01:2200/', {}, { transport: 'ssh', host: 'build-01', port: 2200, user: 'ops' }],
    ['ssh://ops@build-01/run/user/1000/docker.sock', {}, { transport: 'ssh', host: 'build-01', user: 'ops', socketPath: '/run/user/1000/docker.sock' }],
  ])('%s %j', (address, env, expected) => {
    expect(engineEndpointFor(address, env)).toEqual(expected);
  });

  it.each([
    ['unix://relative.sock', 'the socket path must be absolute'],
    ['docker.sock', 'not a URL'],
    ['ftp://host', 'unsupported scheme "ftp:"'],
    ['ssh://ops:secret@build-01', 'a password in the URL is not supported (use an SSH key or agent)'],
    ['ssh://build-01?x=1', 'query parameters and fragments are not allowed'],
  ])('refuses %s', (address, reason) => {
    expect(() => engineEndpointFor(address, {})).toThrow(`invalid Docker host "${address}": ${reason}`);
  });

  describe('TLS files', () => {
    let dir: string | undefined;
    afterEach(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'driftd-certs-'));
      for (const f of ['ca', 'cert', 'key']) await writeFile(path.join(dir, `${f}.pem`), `${f} bytes`);
      expect(engineEndpointFor('tcp://docker.internal:2376', { DOCKER_CERT_PATH: dir })).toEqual({
        transport: 'https',
        host: 'docker.internal',
        port: 2376,
        tls: { ca: Buffer.from('ca bytes'), cert: Buffer.from('cert bytes'), key: Buffer.from('key bytes') },
      });
    });

    it('a missing file is a ConfigError naming DOCKER_CERT_PATH; plain tcp ignores the folder', () => {
      expect(() => engineEndpointFor('tcp://h:2376', { DOCKER_CERT_PATH: '/nonexistent' })).toThrow('cannot read the Docker TLS files in DOCKER_CERT_PATH=/nonexistent');
      expect(engineEndpointFor('tcp://h:2375', { DOCKER_CERT_PATH: '/nonexistent' })).toEqual({ transport: 'http', host: 'h', port: 2375 });
    });
  });
});

describe('sshDialArgs (as the docker CLI runs ssh)', () => {
  it('host only: no -l/-p, so ~/.ssh/config decides', () => {
    expect(sshDialArgs({ transport: 'ssh', host: 'build-01' })).toEqual(['-o', 'ConnectTimeout=30', '-T', '--', 'build-01', 'docker', 'system', 'dial-stdio']);
  });

  it('user and port from the URL', () => {
    expect(sshDialArgs({ transport: 'ssh', host: 'build-01', user: 'ops', port: 2200 })).toEqual([
      '-l',
      'ops',
      '-p',
      '2200',
      '-o',
      'ConnectTimeout=30',
      '-T',
      '--',
      'build-01',
      'docker',
      'system',
      'dial-stdio',
    ]);
  });

  it('a socket path goes to the remote docker, quoted for the remote shell', () => {
    expect(sshDialArgs({ transport: 'ssh', host: 'h', socketPath: '/run/docker.sock' }).slice(-4)).toEqual(['docker', '--host=unix:///run/docker.sock', 'system', 'dial-stdio']);
    expect(sshDialArgs({ transport: 'ssh', host: 'h', socketPath: "/tmp/it's; rm -rf ~" }).slice(-3, -2)).toEqual([`'--host=unix:///tmp/it'\\''s; rm -rf ~'`]);
  });
});
