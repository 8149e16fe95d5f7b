/** The loopback Git server itself, driven by the real git CLI and raw HTTP: what other tests rely on. */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileCapture } from '../../src/util/exec.js';
import { GitServer, type ServedRepo } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';

const AUTH = { username: 'ci', password: 's3cr3t' };

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pkt = (line: string): string => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;

describe('GitServer (test support)', () => {
  let server: GitServer;
  let served: ServedRepo;
  let repo: RepoBuilder;
  let authed: string;

  beforeAll(async () => {
    server = await GitServer.start({ auth: AUTH });
    served = await server.createRepo('r.git');
    repo = await RepoBuilder.create();
    repo.writeSimpleStack('edge');
    await repo.commit();
    await repo.tag('v1.0.0', { annotated: true });
    await repo.push(served.path);
    authed = served.url.replace('http://', `http://${AUTH.username}:${AUTH.password}@`);
  });

  afterAll(async () => {
    await server.close();
    repo.cleanup();
  });

  it('serves git clone over protocol v2 with Basic auth, and counts ls-refs and fetch', async () => {
    server.resetStats();
    const dir = `${repo.dir}-clone`;
    const r = await execFileCapture('git', ['-c', 'protocol.version=2', 'clone', '--quiet', authed, dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await execFileCapture('rm', ['-rf', dir]);
    // git sends credentials only after a 401, even when the URL carries them.
    expect(server.count({ service: 'info/refs', status: 401 })).toBe(1);
    expect(server.count({ service: 'info/refs', status: 200 })).toBe(1);
    expect(server.count({ service: 'git-upload-pack', command: 'ls-refs' })).toBe(1);
    expect(server.count({ service: 'git-upload-pack', command: 'fetch' })).toBe(1);
    expect(server.bytes({ command: 'fetch' }).response).toBeGreaterThan(100);
  });

  it('answers 401 with WWW-Authenticate without credentials', async () => {
    const r = await execFileCapture('git', ['ls-remote', served.url], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    expect(r.code).not.toBe(0);
    const res = await new Promise<http.IncomingMessage>((resolve) => http.get(`${served.url}/info/refs?service=git-upload-pack`, resolve));
    res.resume();
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it('accepts a gzip-encoded request body', async () => {
    const body = Buffer.from(`${pkt('command=ls-refs\n')}0001${pkt('peel\n')}${pkt('ref-prefix refs/tags/\n')}0000`);
    const res = await post(`${served.url}/git-upload-pack`, gzipSync(body), {
      Authorization: `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`,
      'Content-Type': 'application/x-git-upload-pack-request',
      'Content-Encoding': 'gzip',
      'Git-Protocol': 'version=2',
    });
    expect(res.status).toBe(200);
    const tagCommit = await repo.git('rev-parse', 'v1.0.0^{commit}');
    expect(res.body.toString()).toContain(`refs/tags/v1.0.0 peeled:${tagCommit}`);
    expect(server.requests.at(-1)).toMatchObject({ service: 'git-upload-pack', command: 'ls-refs', status: 200 });
  });

  it('stop() refuses connections; start() serves again on the same port', async () => {
    const port = server.port;
    await server.stop();
    const down = await execFileCapture('git', ['ls-remote', authed]);
    expect(down.code).not.toBe(0);
    await server.start();
    expect(server.port).toBe(port);
    const up = await execFileCapture('git', ['ls-remote', '--tags', authed]);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('refs/tags/v1.0.0');
  });
});
