import { readFileSync } from 'node:fs';
import { errnoCode } from '../errors/index.js';

/**
 * Who wrote a journal entry or started an operation, precisely enough to tell later whether
 * that process still runs. A bare pid is not enough: the containerised agent is pid 1 on
 * every start, and pids are reused after a reboot. On Linux the identity also carries the
 * boot id and the process start time (clock ticks since boot), so
 * "linux:<boot id>:<pid>:<start ticks>"; elsewhere "pid:<pid>".
 */
export function processIdentity(pid: number = process.pid): string {
  const boot = bootId();
  const start = startTicks(pid);
  return boot !== undefined && start !== undefined ? `linux:${boot}:${pid}:${start}` : `pid:${pid}`;
}

/** The pid in an identity (for messages). */
export function identityPid(identity: string): number | undefined {
  const parts = identity.split(':');
  const pid = Number(identity.startsWith('linux:') ? parts[2] : parts[1]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Whether the process that had this identity still runs. Judged in the caller's pid
 * namespace: a process in another container's namespace looks dead, so take the matching
 * mutex (host-mutex.ts) before acting on this answer.
 */
export function isProcessAlive(identity: string): boolean {
  const pid = identityPid(identity);
  if (pid === undefined) return false;
  if (!pidExists(pid)) return false;
  if (!identity.startsWith('linux:')) return true;
  const [, boot, , start] = identity.split(':');
  if (boot !== bootId()) return false;
  const now = startTicks(pid);
  // Unreadable /proc entry (hidepid) of a signalable process: assume it is the same one.
  return now === undefined || now === start;
}

/** Does a process with this pid exist (in this pid namespace)? */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return errnoCode(e) === 'EPERM';
  }
}

let cachedBootId: string | null | undefined;
function bootId(): string | undefined {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId ?? undefined;
}

function startTicks(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  // starttime is field 22 overall, i.e. index 19 after the comm.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}
