/**
 * Splits a raw Git commit or tag object (the bytes after "<type> <size>\0") into the payload
 * Git signs and the signature it carries, exactly as Git does (gpg-interface.c, commit.c):
 *
 * - commit: the `gpgsig` header (with its continuation lines, each starting with one space)
 *   is removed; everything else, byte for byte, is the payload.
 * - tag: the signature is appended to the message; it starts at the LAST line that begins
 *   with a signature marker, and the payload is everything before that line.
 *
 * isomorphic-git's parsers are not used: they know only PGP, and rebuild (rather than cut)
 * the payload. Pure: bytes in, bytes out, so hostile objects are unit tested.
 */
export type SignatureFormat = 'openpgp' | 'ssh' | 'x509';

export interface ExtractedSignature {
  format: SignatureFormat;
  /** The armored signature as Git stores it (with its trailing newline). */
  armored: string;
}

export interface SignedObject {
  type: 'commit' | 'tag';
  /** The bytes the signature covers. */
  payload: Uint8Array;
  signature?: ExtractedSignature;
  /** Header fields (first occurrence) of the unsigned part: object, type, tag, tree, tagger, committer… */
  headers: Record<string, string>;
  /** Seconds since the epoch from the tagger (tag) or committer (commit) line, when present. */
  timestamp?: number;
}

const MARKERS: readonly [string, SignatureFormat][] = [
  ['-----BEGIN PGP SIGNATURE-----', 'openpgp'],
  ['-----BEGIN PGP MESSAGE-----', 'openpgp'],
  ['-----BEGIN SSH SIGNATURE-----', 'ssh'],
  ['-----BEGIN SIGNED MESSAGE-----', 'x509'],
];

export function formatOf(text: string): SignatureFormat | undefined {
  return MARKERS.find(([marker]) => text.startsWith(marker))?.[1];
}

/** Byte offsets of each line start (a line ends after "\n", the last one may not). */
function lineStarts(bytes: Uint8Array, end = bytes.length): number[] {
  const starts = [0];
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a && i + 1 < end) starts.push(i + 1);
  return starts;
}

function lineAt(bytes: Uint8Array, start: number): { text: string; next: number } {
  let end = bytes.indexOf(0x0a, start);
  const next = end === -1 ? bytes.length : end + 1;
  if (end === -1) end = bytes.length;
  return { text: Buffer.from(bytes.subarray(start, end)).toString('latin1'), next };
}

/** Where the header ends: the offset of the first empty line (or the end). */
function headerEnd(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && (i === 0 || bytes[i - 1] === 0x0a)) return i;
  }
  return bytes.length;
}

function readHeaders(bytes: Uint8Array, end: number): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let pos = 0;
  while (pos < end) {
    const { text, next } = lineAt(bytes, pos);
    pos = next;
    if (text.startsWith(' ')) continue;
    const space = text.indexOf(' ');
    const key = space === -1 ? text : text.slice(0, space);
    if (!(key in headers)) headers[key] = space === -1 ? '' : text.slice(space + 1);
  }
  return headers;
}

/** "Name <mail> 1700000000 +0000" → 1700000000. */
export function identityTime(identity: string | undefined): number | undefined {
  const m = identity ? / (\d+) [+-]\d{4}$/.exec(identity) : null;
  return m?.[1] ? Number(m[1]) : undefined;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** Commit: cut the `gpgsig` header and its continuation lines out of the header block. */
export function parseSignedCommit(bytes: Uint8Array): SignedObject {
  const end = headerEnd(bytes);
  const kept: Uint8Array[] = [];
  let signature: ExtractedSignature | undefined;
  let pos = 0;
  let removed = false;
  while (pos < end) {
    const { text, next } = lineAt(bytes, pos);
    if (!removed && text.startsWith('gpgsig ')) {
      // Multi-line value: the first line after "gpgsig ", then every line starting with " " (the space dropped).
      const lines = [text.slice('gpgsig '.length)];
      let after = next;
      while (after < end) {
        const cont = lineAt(bytes, after);
        if (!cont.text.startsWith(' ')) break;
        lines.push(cont.text.slice(1));
        after = cont.next;
      }
      const armored = `${lines.join('\n')}\n`;
      const format = formatOf(armored);
      if (format) signature = { format, armored };
      removed = true;
      pos = after;
      continue;
    }
    kept.push(bytes.subarray(pos, next));
    pos = next;
  }
  kept.push(bytes.subarray(end));
  const payload = concat(kept);
  const headers = readHeaders(payload, headerEnd(payload));
  const timestamp = identityTime(headers.committer);
  return { type: 'commit', payload, ...(signature ? { signature } : {}), headers, ...(timestamp !== undefined ? { timestamp } : {}) };
}

/** Tag: the signature is the tail from the last line that starts with a signature marker. */
export function parseSignedTag(bytes: Uint8Array): SignedObject {
  let cut: number | undefined;
  let format: SignatureFormat | undefined;
  // Only the message can hold the signature: never a line of the header block.
  const bodyStart = headerEnd(bytes);
  for (const start of lineStarts(bytes)) {
    if (start <= bodyStart) continue;
    const f = formatOf(lineAt(bytes, start).text);
    if (f) {
      cut = start;
      format = f;
    }
  }
  const payload = cut === undefined ? bytes : bytes.subarray(0, cut);
  const headers = readHeaders(bytes, bodyStart);
  const timestamp = identityTime(headers.tagger);
  const signature = cut !== undefined && format ? { format, armored: Buffer.from(bytes.subarray(cut)).toString('latin1') } : undefined;
  return { type: 'tag', payload, ...(signature ? { signature } : {}), headers, ...(timestamp !== undefined ? { timestamp } : {}) };
}

export function parseSignedObject(type: 'commit' | 'tag', bytes: Uint8Array): SignedObject {
  return type === 'commit' ? parseSignedCommit(bytes) : parseSignedTag(bytes);
}
