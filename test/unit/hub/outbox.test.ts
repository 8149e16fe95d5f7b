import { afterEach, describe, expect, it, vi } from 'vitest';
import { hubLane, hubLaneKey, hubRetryCapMs, planReport, REPORT_EVENT_ID, startHubReports } from '../../../src/hub/outbox.js';
import type { Report } from '../../../src/hub/report.js';
import { retryDelayMs } from '../../../src/notify/format.js';

const TOKEN = 'host-token-unit-0123456789abcdef';
const doc = (over: Partial<Report> = {}): Report => ({
  schemaVersion: 1,
  host: 'web-01',
  kind: 'cycle',
  sentAt: '2026-01-01T00:00:00.000Z',
  version: '0.1.0',
  lastRun: { at: '2026-01-01T00:00:00.000Z', ok: true, durationMs: 12 },
  stacks: [{ name: 'web', sync: 'Synced', health: 'Healthy', findings: 0 }],
  ...over,
});

describe('the hub lane of the delivery loop', () => {
  it('is keyed by a hash of the URL, never the URL', () => {
    const key = hubLaneKey('https://user:pw@hub.example:9798');
    expect(key).toMatch(/^hub:sha256:[0-9a-f]{12}$/);
    expect(key).not.toContain('hub.example');
    expect(hubLane({ url: 'https://hub.example', token: TOKEN, heartbeatMs: 300_000 })).toMatchObject({ key: hubLaneKey('https://hub.example'), batch: 1, minIntervalMs: 0, timeoutMs: 15_000 });
    expect(hubLane({ url: 'https://hub.example', token: TOKEN, heartbeatMs: 300_000 }).maxAttempts).toBeUndefined();
  });

  it("backs off like notifications (10 s doubling) but at most one heartbeat apart, so a hub that is back sees the agent within one", () => {
    const cap = hubRetryCapMs(300_000);
    expect([1, 2, 3, 4, 5, 6, 7, 30].map((a) => retryDelayMs(a, undefined, cap) / 1000)).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
    expect([1, 2, 3].map((a) => retryDelayMs(a, undefined, hubRetryCapMs(5_000)) / 1000)).toEqual([5, 5, 5]);
    expect(hubRetryCapMs(10)).toBe(1_000);
    expect(hubRetryCapMs(86_400_000)).toBe(3_600_000);
  });

  it('plans one POST /api/report per row: the stored document, sentAt set at send time, the token only in the header', () => {
    const { sends, unreadable } = planReport({ url: 'http://127.0.0.1:9798/', token: TOKEN }, [{ id: 7, attempts: 3, event: JSON.stringify(doc()) }], Date.parse('2026-01-02T03:04:05.000Z'));
    expect(unreadable).toEqual([]);
    expect(sends).toHaveLength(1);
    const s = sends[0]!;
    expect(s).toMatchObject({ ids: [7], attempts: 3, eventIds: ['cycle@2026-01-01T00:00:00.000Z'] });
    expect(s.request.url).toBe('http://127.0.0.1:9798/api/report');
    expect(s.request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(s.request.ca).toBeUndefined();
    expect(JSON.parse(s.request.body)).toEqual({ ...doc(), sentAt: '2026-01-02T03:04:05.000Z' });
    expect(s.request.body).not.toContain(TOKEN);
    expect(planReport({ url: 'https://hub', token: TOKEN, ca: 'PEM' }, [{ id: 1, attempts: 0, event: JSON.stringify(doc()) }], 0).sends[0]!.request.ca).toBe('PEM');
  });

  it('gives up rows that are not a status document (not JSON, another schema, a hostile stack name)', () => {
    const rows = [
      { id: 1, attempts: 0, event: '{"schemaVersion":1,' },
      { id: 2, attempts: 0, event: JSON.stringify({ ...doc(), schemaVersion: 2 }) },
      { id: 3, attempts: 0, event: JSON.stringify(doc({ stacks: [{ name: '__proto__', sync: 'Synced', health: 'Healthy', findings: 0 }] })) },
      { id: 4, attempts: 0, event: JSON.stringify(doc()) },
    ];
    const { sends, unreadable } = planReport({ url: 'http://hub', token: TOKEN }, rows, 0);
    expect(unreadable).toEqual([1, 2, 3]);
    expect(sends.map((s) => s.ids)).toEqual([[4]]);
  });
});

describe('startHubReports', () => {
  afterEach(() => vi.useRealTimers());

  const fakeOutbox = () => {
    const rows: { eventId: string; channel: string; event: string }[] = [];
    let pending = false;
    return {
      rows,
      setPending: (p: boolean) => (pending = p),
      outbox: {
        enqueueLatest: (row: { eventId: string; channel: string; event: string }) => (rows.push(row), (pending = true)),
        hasPending: () => pending,
      },
    };
  };

  it('queues the document of every cycle under one event id (latest wins), and a heartbeat only when nothing waits', () => {
    vi.useFakeTimers();
    const f = fakeOutbox();
    const kinds: string[] = [];
    const r = startHubReports({ url: 'http://hub', heartbeatMs: 1_000, outbox: f.outbox, build: (kind) => (kinds.push(kind), doc({ kind })), logger: { error: () => undefined } });
    r.cycleDone();
    r.cycleDone();
    expect(f.rows.map((x) => [x.eventId, x.channel, (JSON.parse(x.event) as Report).kind])).toEqual([
      [REPORT_EVENT_ID, hubLaneKey('http://hub'), 'cycle'],
      [REPORT_EVENT_ID, hubLaneKey('http://hub'), 'cycle'],
    ]);
    vi.advanceTimersByTime(3_000);
    expect(f.rows).toHaveLength(2); // the cycle's document still waits: no heartbeat over it
    f.setPending(false);
    vi.advanceTimersByTime(1_000);
    expect(f.rows.map((x) => (JSON.parse(x.event) as Report).kind)).toEqual(['cycle', 'cycle', 'heartbeat']);
    r.stop();
    f.setPending(false);
    vi.advanceTimersByTime(10_000);
    expect(f.rows).toHaveLength(3);
    expect(kinds).toEqual(['cycle', 'cycle', 'heartbeat']);
  });

  it('a document that cannot be built is logged, never thrown at the reconcile', () => {
    const f = fakeOutbox();
    const errors: string[] = [];
    const r = startHubReports({
      url: 'http://hub',
      heartbeatMs: 60_000,
      outbox: f.outbox,
      build: () => {
        throw new Error('state DB gone');
      },
      logger: { error: (m: string) => void errors.push(m) },
    });
    expect(() => r.cycleDone()).not.toThrow();
    r.stop();
    expect(f.rows).toEqual([]);
    expect(errors.join()).toContain('state DB gone');
  });
});
