/**
 * The agent's listing cache and the event stream behind it (src/live/engine-watch.ts), against our
 * own engine test server: a stream that opens, speaks, floods, ends or fails on cue. Against the
 * real engine: test/integration/agent-listing-cache.test.ts.
 */
import type http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDockerClient } from '../../../src/live/docker-client.js';
import { EngineWatch, LISTING_MAX_AGE_MS, ListingCache } from '../../../src/live/engine-watch.js';
import { waitFor } from '../../support/wait-for.js';
import { EngineTestServer, json } from './engine-test-server.js';

/** waitFor (test/support) on a condition; a ceiling, not a budget. */
const until = async (what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> => {
  await waitFor(what, () => Promise.resolve(ok() ? true : undefined), timeoutMs, 10);
};

describe('EngineWatch and ListingCache', () => {
  let server: EngineTestServer;
  /** The open /events answers, newest last. */
  let streams: http.ServerResponse[];
  let watch: EngineWatch | undefined;
  const lost: string[] = [];

  beforeEach(async () => {
    server = await EngineTestServer.start();
    streams = [];
    lost.length = 0;
    server.route = (req, res) => {
      if (!req.url?.startsWith('/events')) return json(404, { message: 'not here' })(req, res);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      streams.push(res);
    };
  });

  afterEach(async () => {
    watch?.stop();
    watch = undefined;
    await server.close();
  });

  const start = (now?: () => number): EngineWatch => {
    const { docker } = createDockerClient({ dockerHost: server.address });
    if (!EngineWatch.supports(docker)) throw new Error('EngineClient streams events');
    watch = new EngineWatch(docker, { ...(now ? { now } : {}), onLost: (reason) => lost.push(reason) });
    watch.start();
    return watch;
  };

  it('asks for the event types that change a listing, replaying the minute before it opened', async () => {
    const nowMs = 1_700_000_000_500;
    start(() => nowMs);
    await until('the stream', () => streams.length === 1);
    const url = new URL(server.received[0]!.url, 'http://engine');
    expect(url.pathname).toBe('/events');
    expect(url.searchParams.get('since')).toBe(String(1_700_000_000 - 60));
    expect(JSON.parse(url.searchParams.get('filters')!)).toEqual({ type: ['container', 'network', 'volume', 'image', 'daemon'] });
  });

  it('keeps nothing before the stream is open; then keeps a listing until one byte arrives', async () => {
    const w = start();
    const cache = new ListingCache<{ n: number }>(w);
    // Not open yet: nothing can be vouched for.
    const early = cache.begin();
    expect(early.mark).toBeUndefined();
    cache.keep(early, { n: 0 });
    expect(cache.get()).toBeUndefined();

    await until('the stream to open', () => w.open);
    const first = cache.begin();
    const kept = cache.keep(first, { n: 1 });
    expect(cache.get()).toBe(kept);
    expect(cache.get()).toBe(kept);
    expect(cache.hits).toBe(2);

    streams[0]!.write('{"Type":"container","Action":"die"}\n');
    await until('the event', () => cache.get() === undefined);
    // Dropped, not revived: the next listing must come from the engine.
    expect(cache.get()).toBeUndefined();
  });

  it('an event between the request of a listing and its answer: that listing is not kept', async () => {
    const w = start();
    const cache = new ListingCache<{ n: number }>(w);
    await until('the stream to open', () => w.open);
    const started = cache.begin();
    streams[0]!.write('x');
    await until('the byte', () => !w.unchangedSince(started.mark!));
    cache.keep(started, { n: 1 });
    expect(cache.get()).toBeUndefined();
  });

  it('a kept listing is frozen: no caller can change what the next cycle gets', async () => {
    const w = start();
    const cache = new ListingCache<{ listed: { labels: Record<string, string> }[] }>(w);
    await until('the stream to open', () => w.open);
    const kept = cache.keep(cache.begin(), { listed: [{ labels: { a: '1' } }] });
    expect(() => {
      kept.listed[0]!.labels.a = '2';
    }).toThrow(TypeError);
    expect(() => kept.listed.push({ labels: {} })).toThrow(TypeError);
    expect(cache.get()?.listed[0]?.labels.a).toBe('1');
  });

  it('a listing older than the maximum age is listed again even when the stream is quiet', async () => {
    let nowMs = Date.now();
    const w = start(() => nowMs);
    const cache = new ListingCache<{ n: number }>(w, { now: () => nowMs });
    await until('the stream to open', () => w.open);
    cache.keep(cache.begin(), { n: 1 });
    nowMs += LISTING_MAX_AGE_MS - 1;
    expect(cache.get()).toEqual({ n: 1 });
    nowMs += 1;
    expect(cache.get()).toBeUndefined();
  });

  it('the engine ends the stream: nothing is kept until it reconnects (with since again), then keeping resumes', async () => {
    const w = start();
    const cache = new ListingCache<{ n: number }>(w);
    await until('the stream to open', () => w.open);
    cache.keep(cache.begin(), { n: 1 });
    streams[0]!.end();
    await until('the loss', () => !w.open);
    expect(cache.get()).toBeUndefined();
    expect(cache.begin().mark).toBeUndefined();
    expect(lost).toEqual(['the engine ended the event stream']);
    // Reconnects after a second.
    await until('the second stream', () => streams.length === 2 && w.open);
    expect(server.received[1]!.url).toContain('since=');
    const kept = cache.keep(cache.begin(), { n: 2 });
    expect(cache.get()).toBe(kept);

    // The connection cut mid-answer (an engine killed): the same.
    streams[1]!.socket?.destroy();
    await until('the second loss', () => !w.open);
    expect(cache.get()).toBeUndefined();
    expect(lost).toHaveLength(2);
  });

  it('an engine that refuses the stream (HTTP 500) or floods it never makes a listing stale', async () => {
    server.route = (_req, res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: 'events are broken' }));
    const w = start();
    await until('the refusal', () => lost.length === 1);
    expect(lost[0]).toContain('events are broken');
    expect(w.open).toBe(false);
    expect(new ListingCache(w).begin().mark).toBeUndefined();
    w.stop();

    // A flood: 8 MiB of bytes that are no JSON at all. Each only invalidates; none is kept in memory.
    server.route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      streams.push(res);
    };
    const flooded = start();
    const cache = new ListingCache<{ n: number }>(flooded);
    await until('the stream to open', () => flooded.open);
    const started = cache.begin();
    const chunk = Buffer.alloc(64 * 1024, 0xff);
    for (let i = 0; i < 128; i++) streams.at(-1)!.write(chunk);
    await until('the flood', () => !flooded.unchangedSince(started.mark!));
    cache.keep(started, { n: 1 });
    expect(cache.get()).toBeUndefined();
    expect(flooded.open).toBe(true);
  });

  it('stop() closes the stream and never reconnects', async () => {
    const w = start();
    await until('the stream to open', () => w.open);
    w.stop();
    expect(w.open).toBe(false);
    expect(w.mark()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1500));
    expect(streams).toHaveLength(1);
    expect(lost).toEqual([]);
  });
});
