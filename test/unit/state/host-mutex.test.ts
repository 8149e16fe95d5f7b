import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireHostMutex, mutexPath } from '../../../src/state/host-mutex.js';
import { child, tempDir } from './helpers.js';
import { rejection } from '../../support/rejection.js';
import { loadScaledBudget } from '../../support/budget.js';

/** utime + stime of a Linux process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}


describe('acquireHostMutex in one process', () => {
  it('a held lock is busy for a second caller, free again after release; release is idempotent', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const release = await acquireHostMutex(dataDir, 'reconcile');
    expect(existsSync(mutexPath(dataDir, 'reconcile'))).toBe(true);
    const e = await rejection(acquireHostMutex(dataDir, 'reconcile'));
    expect(e.code).toBe('LockBusy');
    expect(e.message).toMatch(new RegExp(`^lock "reconcile" is held by another driftd run \\(pid ${process.pid} since .+\\): wait for it to finish and retry$`));
    const other = await acquireHostMutex(dataDir, 'stack-web');
    release();
    release();
    const again = await acquireHostMutex(dataDir, 'reconcile');
    again();
    other();
  });

  it('wait: resolves once the holder releases', async () => {
    const dataDir = tempDir();
    const release = await acquireHostMutex(dataDir, 'reconcile');
    let got = false;
    const waiting = acquireHostMutex(dataDir, 'reconcile', { wait: true }).then((r) => ((got = true), r));
    await new Promise((r) => setTimeout(r, 150));
    expect(got).toBe(false);
    release();
    const second = await waiting;
    expect(got).toBe(true);
    second();
  });

  it('wait with timeoutMs gives up with LockBusy', async () => {
    const dataDir = tempDir();
    const release = await acquireHostMutex(dataDir, 'reconcile');
    const t0 = Date.now();
    const e = await rejection(acquireHostMutex(dataDir, 'reconcile', { wait: true, timeoutMs: 300 }));
    expect(e.code).toBe('LockBusy');
    expect(e.message).toMatch(/^timed out waiting for lock "reconcile", held by another driftd run/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const budget = loadScaledBudget(1500);
    expect(Date.now() - t0, budget.note).toBeLessThan(budget.ms);
    release();
  });

  it('refuses lock names that could leave the locks directory', async () => {
    await expect(acquireHostMutex(tempDir(), '../state')).rejects.toThrow(/invalid lock name/);
    await expect(acquireHostMutex(tempDir(), 'Stack/Web')).rejects.toThrow(/invalid lock name/);
  });

  it('a damaged lock file is a clear error, never silently replaced', async () => {
    const dataDir = tempDir();
    mkdirSync(path.join(dataDir, 'locks'));
    writeFileSync(mutexPath(dataDir, 'reconcile'), 'garbage'.repeat(1000));
    const e = await rejection(acquireHostMutex(dataDir, 'reconcile'));
    expect(e.message).toBe(`lock file ${mutexPath(dataDir, 'reconcile')} is damaged: delete it while no driftd is running`);
  });
});

describe('acquireHostMutex across processes', () => {
  it('a second process waits (without burning CPU) while the first holds the lock, and takes it over when the first is SIGKILLed', async () => {
    const dataDir = tempDir();
    const holder = child('hold', dataDir, 'reconcile');
    const holderPid = Number((await holder.line(/^acquired \d+$/)).split(' ')[1]);
    expect(holderPid).toBe(holder.proc.pid);
    expect(JSON.parse(readFileSync(path.join(dataDir, 'locks', 'reconcile.owner'), 'utf8'))).toMatchObject({ identity: expect.stringContaining(`:${holderPid}`) });

    // This process cannot take it, and is told who holds it.
    const e = await rejection(acquireHostMutex(dataDir, 'reconcile'));
    expect(e.code).toBe('LockBusy');
    expect(e.message).toContain(`(pid ${holderPid} since `);
    expect(e.data).toMatchObject({ pid: holderPid });

    // Another process refuses without waiting…
    const impatient = child('hold', dataDir, 'reconcile');
    expect(await impatient.line(/^error /)).toMatch(/^error LockBusy: lock "reconcile" is held by another driftd run/);

    // …or waits.
    const waiter = child('wait', dataDir, 'reconcile');
    await waiter.line(/^waiting$/);
    const cpuBefore = process.cpuUsage();
    const waiterTicks = cpuTicks(waiter.proc.pid!);
    await new Promise((r) => setTimeout(r, 1500));
    expect(waiter.output()).not.toMatch(/acquired/);
    // 1.5 s of waiting costs the waiter well under 0.3 s of CPU (clock ticks are 10 ms).
    expect(cpuTicks(waiter.proc.pid!) - waiterTicks).toBeLessThan(30);

    // Polling is idle time: this process waiting in-process too costs next to no CPU.
    const inProcess = acquireHostMutex(dataDir, 'reconcile', { wait: true, timeoutMs: 1000 });
    await expect(inProcess).rejects.toThrow(/timed out/);
    const cpu = process.cpuUsage(cpuBefore);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(500);

    holder.proc.kill('SIGKILL');
    await holder.exited;
    // The waiter polls: a generous ceiling, as a loaded machine may not schedule it for seconds.
    expect(Number((await waiter.line(/^acquired \d+$/, 240_000)).split(' ')[1])).toBe(waiter.proc.pid);
    expect((await rejection(acquireHostMutex(dataDir, 'reconcile'))).data).toMatchObject({ pid: waiter.proc.pid });

    waiter.proc.kill('SIGKILL');
    await waiter.exited;
    const release = await acquireHostMutex(dataDir, 'reconcile', { wait: true, timeoutMs: 60_000 });
    release();
  });

  it('a failed attempt in the holder’s own process does not drop its lock (POSIX locks die with any close of the file)', async () => {
    const dataDir = tempDir();
    const release = await acquireHostMutex(dataDir, 'reconcile');
    for (let i = 0; i < 3; i++) await expect(acquireHostMutex(dataDir, 'reconcile')).rejects.toThrow(/is held/);
    const other = child('hold', dataDir, 'reconcile');
    expect(await other.line(/^(error|acquired)/)).toMatch(/^error LockBusy/);
    release();
    const after = child('hold', dataDir, 'reconcile');
    await after.line(/^acquired/);
  });

  it('locks with different names do not exclude each other across processes', async () => {
    const dataDir = tempDir();
    const a = child('hold', dataDir, 'stack-web');
    await a.line(/^acquired/);
    const b = child('hold', dataDir, 'stack-db');
    await b.line(/^acquired/);
    await expect(acquireHostMutex(dataDir, 'stack-web')).rejects.toThrow(/is held/);
  });
});
