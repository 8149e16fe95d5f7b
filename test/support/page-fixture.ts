/** A PageSource over fixed data (hostile names included), for the page's unit and browser tests. */
import type { Finding } from '../../src/drift/model.js';
import type { HistoryView, Overview, PageHeader, PageSource, StackDetail, StackRow } from '../../src/page/model.js';
import type { Operation } from '../../src/state/index.js';

export const HOSTILE = `<script>alert("x")</script>'"\`&`;
export const PENDING = 'a'.repeat(40);

const header: PageHeader = {
  host: `host-${HOSTILE}`,
  version: '0.1.0',
  refPolicy: 'highest semver tag (else HEAD)',
  target: { commit: 'c'.repeat(40), ref: 'v1.2.0' },
  busy: false,
  pins: [{ stack: 'web', tag: `v1.0.0${HOSTILE}`, commit: 'd'.repeat(40), by: 'ops', at: '2026-01-01T00:00:00.000Z' }],
  windows: [{ kind: 'deny', schedule: '0 8 * * 1-5', durationMs: 36_000_000, timezone: 'Europe/Berlin', stacks: ['*'] }],
  generatedAt: '2026-01-01T00:00:00.000Z',
};

const finding: Finding = {
  kind: 'config-drift',
  stack: 'web',
  service: 'app',
  severity: 'warning',
  message: `service app: environment.GREETING differs ${HOSTILE}`,
  field: 'environment.GREETING',
  desired: 'hello',
  live: `hello-${HOSTILE}`,
};

const op = (over: Partial<Operation>): Operation => ({
  id: 1,
  trigger: 'schedule',
  actor: 'agent',
  command: 'driftd agent',
  stack: 'web',
  action: 'deploy',
  revision: 'c'.repeat(40),
  result: 'succeeded',
  message: undefined,
  output: undefined,
  owner: 'x',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  durationMs: 1000,
  ...over,
});

export const ROWS: StackRow[] = [
  { name: 'web', sync: 'OutOfSync', health: 'Healthy', worst: finding, findingCount: 2, desired: header.target!, deployed: header.target!, last: { action: 'deploy', result: 'succeeded', at: header.generatedAt } },
  { name: 'manual', sync: 'OutOfSync', health: 'Healthy', findingCount: 0, pending: PENDING },
  { name: '__proto__', sync: 'constructor', health: 'toString', findingCount: 0 },
];

export interface FixtureSource extends PageSource {
  approvals: { stack: string; revision: string | undefined; actor: string }[];
}

export function fixtureSource(): FixtureSource {
  const approvals: FixtureSource['approvals'] = [];
  const history = [op({ id: 2, result: 'failed', message: `up failed ${HOSTILE}`, output: `line1\n${HOSTILE}\nError: boom\n` }), op({ id: 1 })];
  return {
    approvals,
    overview: (): Promise<Overview> => Promise.resolve({ header, stacks: ROWS, unmanaged: [] }),
    stack: (name): Promise<StackDetail | undefined> => {
      const row = ROWS.find((r) => r.name === name);
      if (!row) return Promise.resolve(undefined);
      return Promise.resolve({
        header,
        row,
        findings: name === 'web' ? [finding] : [],
        containers: [{ name: `web-app-1`, service: 'app', image: `busybox:${HOSTILE}`, imageId: 'sha256:' + 'e'.repeat(64), digests: ['busybox@sha256:' + 'f'.repeat(64)], state: 'running', health: 'none', createdAt: header.generatedAt }],
        history,
        failure: history[0]!,
      });
    },
    history: (filter): Promise<HistoryView> =>
      Promise.resolve({ header, filter, rows: history.filter((o) => !filter.result || o.result === filter.result).map(({ output: _o, ...rest }) => rest), stacks: ['web', 'manual'] }),
    approve: (stack, revision, actor) => {
      approvals.push({ stack, revision, actor });
      return Promise.resolve({ revision: PENDING });
    },
  };
}
