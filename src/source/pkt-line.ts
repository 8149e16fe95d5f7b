/**
 * Git's pkt-line framing (gitprotocol-common): a 4-hex-digit length that counts itself, then the
 * payload; "0000" flush, "0001" delimiter and "0002" response-end (protocol v2). Parsed from a
 * complete server answer with hard limits: a hostile or broken server cannot make driftd keep
 * an unbounded answer or an unbounded number of lines.
 */

export type Pkt = { kind: 'data'; data: Buffer } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'end' };

/** Git's own ceiling for one pkt-line (LARGE_PACKET_MAX). */
export const MAX_PKT_LEN = 65520;

/** Thrown on anything that is not well-formed pkt-line data; git-errors maps code ParseError. */
export class PktLineError extends Error {
  readonly code = 'ParseError';
}

/** One data line: length prefix + payload. */
export function pkt(payload: string): string {
  const len = Buffer.byteLength(payload) + 4;
  if (len > MAX_PKT_LEN) throw new PktLineError(`pkt-line of ${len} bytes is longer than ${MAX_PKT_LEN}`);
  return len.toString(16).padStart(4, '0') + payload;
}

export const FLUSH = '0000';
export const DELIM = '0001';

/** Splits `buf` into pkt-lines; at most `maxPkts` of them. Throws PktLineError on a bad length, a truncated line or too many lines. */
export function parsePktLines(buf: Buffer, maxPkts: number): Pkt[] {
  const out: Pkt[] = [];
  let at = 0;
  while (at < buf.length) {
    if (out.length >= maxPkts) throw new PktLineError(`the answer has more than ${maxPkts} pkt-lines`);
    const head = buf.subarray(at, at + 4).toString('latin1');
    if (!/^[0-9a-f]{4}$/i.test(head)) throw new PktLineError(`bad pkt-line length ${JSON.stringify(head)} at byte ${at}`);
    const len = parseInt(head, 16);
    if (len === 0) out.push({ kind: 'flush' });
    else if (len === 1) out.push({ kind: 'delim' });
    else if (len === 2) out.push({ kind: 'end' });
    else if (len < 4 || len > MAX_PKT_LEN) throw new PktLineError(`bad pkt-line length ${len} at byte ${at}`);
    else {
      if (at + len > buf.length) throw new PktLineError(`pkt-line at byte ${at} is truncated (${len} bytes announced, ${buf.length - at} present)`);
      out.push({ kind: 'data', data: buf.subarray(at + 4, at + len) });
    }
    at += len < 4 ? 4 : len;
  }
  return out;
}

/** A data line as text without its trailing LF ("clients MUST ignore an LF at the end of the line"). */
export function pktText(p: Pkt & { kind: 'data' }): string {
  const text = p.data.toString('utf8');
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
