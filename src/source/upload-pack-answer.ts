/**
 * Watches the pkt-line framing of an upload-pack answer (a fetch's POST) as it streams past
 * isomorphic-git. isomorphic-git accepts an answer cut before its packfile section as "nothing
 * to write" and reports success; the caller then only sees a commit that did not arrive. With
 * this watch it can tell a cut transfer (retry, the server or link failed) from a ref that
 * moved or points at a non-commit.
 *
 * A complete side-band answer ends on a pkt-line boundary with a flush, after at least one
 * band-1 (pack data) line. Anything else — a cut mid-line, no closing flush, no pack data — is
 * incomplete. An answer that is not pkt-line framed at all (a server without side-band sends
 * the raw pack) cannot be judged: `unframed`.
 */
export type UploadPackVerdict = 'complete' | 'incomplete' | 'unframed';

export class UploadPackWatch {
  private head = Buffer.alloc(0);
  /** Bytes of the current data line still to skip (its payload after the first byte). */
  private skip = 0;
  private unframed = false;
  private lastWasFlush = false;
  private sawPackData = false;
  private bytes = 0;

  feed(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.unframed) return;
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      // Up to 4 length digits + the band byte of a data line: bounded however the chunks fall.
      const need = this.head.length < 4 ? 4 - this.head.length : 1;
      const take = chunk.subarray(at, at + need);
      this.head = Buffer.concat([this.head, take]);
      at += take.length;
      if (this.head.length < 4) continue;
      const digits = this.head.subarray(0, 4).toString('latin1');
      if (!/^[0-9a-f]{4}$/i.test(digits)) {
        this.unframed = true;
        return;
      }
      const len = parseInt(digits, 16);
      if (len < 4) {
        this.lastWasFlush = len === 0;
        this.head = Buffer.alloc(0);
        continue;
      }
      if (len === 4) {
        this.lastWasFlush = false;
        this.head = Buffer.alloc(0);
        continue;
      }
      if (this.head.length < 5) continue;
      if (this.head[4] === 1) this.sawPackData = true;
      this.lastWasFlush = false;
      this.skip = len - 5;
      this.head = Buffer.alloc(0);
    }
  }

  verdict(): UploadPackVerdict {
    if (this.unframed) return 'unframed';
    const onBoundary = this.skip === 0 && this.head.length === 0;
    return onBoundary && this.lastWasFlush && this.sawPackData ? 'complete' : 'incomplete';
  }

  /** For the error message: how much arrived. */
  received(): number {
    return this.bytes;
  }
}

/** Passes `body` through unchanged, feeding every chunk to `watch`. */
export async function* watched(body: AsyncIterable<Uint8Array>, watch: UploadPackWatch): AsyncIterableIterator<Uint8Array> {
  for await (const chunk of body) {
    watch.feed(chunk);
    yield chunk;
  }
}
