/**
 * The upload-pack answer watch, from raw bytes: a complete side-band answer is complete however
 * it is chunked; the same answer cut at any byte is incomplete; a raw (unframed) pack cannot be
 * judged. The fetch relies on this to call a cut transfer a transfer failure (the flake in CI
 * where a cut before the pack looked like a moved ref).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pkt } from '../../../src/source/pkt-line.js';
import { UploadPackWatch, watched } from '../../../src/source/upload-pack-answer.js';

const OID = 'c'.repeat(40);
const band = (n: number, payload: string): string => pkt(String.fromCharCode(n) + payload);

/** shallow section, NAK, progress on band 2, pack bytes on band 1, closing flush. */
const ANSWER = Buffer.from(
  [pkt(`shallow ${OID}\n`), '0000', pkt('NAK\n'), band(2, 'Enumerating objects: 3, done.\n'), band(1, 'PACK\x00\x00\x00\x02'), band(1, 'x'.repeat(300)), '0000'].join(''),
  'latin1',
);

function verdictOf(chunks: Buffer[]) {
  const watch = new UploadPackWatch();
  for (const c of chunks) watch.feed(c);
  return watch.verdict();
}

describe('UploadPackWatch', () => {
  it('calls a whole side-band answer complete, fed at once or one byte at a time', () => {
    expect(verdictOf([ANSWER])).toBe('complete');
    expect(verdictOf([...ANSWER].map((b) => Buffer.from([b])))).toBe('complete');
  });

  it('calls it complete split into two chunks at every byte', () => {
    for (let at = 1; at < ANSWER.length; at++) {
      expect(verdictOf([ANSWER.subarray(0, at), ANSWER.subarray(at)]), `split at ${at}`).toBe('complete');
    }
  });

  it('calls it incomplete cut at every byte, including right after the shallow section flush', () => {
    for (let at = 0; at < ANSWER.length; at++) {
      expect(verdictOf([ANSWER.subarray(0, at)]), `cut at ${at}`).toBe('incomplete');
    }
  });

  it('wants pack data: an answer of progress and a flush only is incomplete', () => {
    expect(verdictOf([Buffer.from(pkt('NAK\n') + band(2, 'counting\n') + '0000', 'latin1')])).toBe('incomplete');
    expect(verdictOf([Buffer.from(pkt('NAK\n') + band(3, 'fatal: out of memory\n') + '0000', 'latin1')])).toBe('incomplete');
  });

  it('cannot judge an answer that is not pkt-line framed (a raw pack without side-band)', () => {
    expect(verdictOf([Buffer.from(pkt('NAK\n') + 'PACK\x00\x00\x00\x02', 'latin1')])).toBe('unframed');
  });

  it('counts what arrived and passes the body through unchanged', async () => {
    const watch = new UploadPackWatch();
    const body = Readable.from([ANSWER.subarray(0, 10), ANSWER.subarray(10)]);
    const out: Uint8Array[] = [];
    for await (const c of watched(body, watch)) out.push(c);
    expect(Buffer.concat(out)).toEqual(ANSWER);
    expect(watch.received()).toBe(ANSWER.length);
    expect(watch.verdict()).toBe('complete');
  });
});
