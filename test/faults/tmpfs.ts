/**
 * A small tmpfs mounted over a test's data dir, and a filler that takes its last byte: the real
 * ENOSPC of a full disk, for the state DB, the Git mirror, snapshots and deploy dirs alike.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';
import { execFileCapture } from '../../src/util/exec.js';

export class SmallDisk {
  private constructor(
    readonly dir: string,
    private readonly filler: string,
  ) {}

  /** Mounts a tmpfs of `sizeMb` at `dir` (created when missing; mode 0700 like a data dir). */
  static async mount(dir: string, sizeMb: number): Promise<SmallDisk> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const r = await execFileCapture('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'driftd-fault', dir], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`mount -t tmpfs at ${dir} failed (the fault suite runs as root): ${r.stderr}`);
    return new SmallDisk(dir, path.join(dir, 'filler.bin'));
  }

  /** True while something is mounted at `dir`. */
  static mounted(dir: string): boolean {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === dir);
  }

  /** Bytes still free for an unprivileged writer. */
  free(): number {
    const s = statfsSync(this.dir);
    return s.bavail * s.bsize;
  }

  /** Writes the filler until the file system refuses a single further byte. */
  fill(): void {
    const fd = openSync(this.filler, 'a');
    try {
      for (const size of [1 << 20, 4096, 1]) {
        const chunk = Buffer.alloc(size, 0x5a);
        for (;;) {
          try {
            if (writeSync(fd, chunk) < size) break;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw e;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Frees the space again (the filler goes). */
  release(): void {
    rmSync(this.filler, { force: true });
  }

  /** Unmounts (lazily when busy) and checks that nothing stays mounted. */
  async unmount(): Promise<void> {
    this.release();
    let r = await execFileCapture('umount', [this.dir], { timeoutMs: 30_000 });
    if (r.code !== 0) r = await execFileCapture('umount', ['-l', this.dir], { timeoutMs: 30_000 });
    if (SmallDisk.mounted(this.dir)) throw new Error(`tmpfs at ${this.dir} is still mounted: ${r.stderr}`);
  }
}
