/**
 * Service `volumes:` entries, short ("./conf:/etc/app:ro", "data:/var/lib", "/cache") and long
 * syntax, parsed like compose-go's format.ParseVolume (Linux paths only).
 */
import { composeError, formatPath } from './errors.js';

type Path = (string | number)[];

export interface ParsedVolume {
  type: 'bind' | 'volume' | 'tmpfs';
  /** As written: a path for binds, a volume name, or undefined (anonymous volume / tmpfs). */
  source?: string;
  target: string;
  readOnly: boolean;
}

const SUPPORTED_TYPES = new Set(['bind', 'volume', 'tmpfs']);

/** Sources that are host paths rather than volume names (compose-go isFilePath). */
export function isHostPath(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
}

export function parseShortVolume(spec: string, path: Path): ParsedVolume {
  const bad = (why: string) => composeError('ComposeLoadError', `${formatPath(path)}: invalid volume ${JSON.stringify(spec)}: ${why}`, { path });
  if (spec.length === 0) throw bad('empty volume spec');
  if (spec.length <= 2) return { type: 'volume', target: spec, readOnly: false };
  const parts = spec.split(':');
  if (parts.some((p) => p === '')) throw bad('empty section between colons');
  if (parts.length > 3) throw bad('too many colons');
  if (parts.length === 1) return { type: 'volume', target: spec, readOnly: false };
  const [source = '', target = '', options] = parts;
  let readOnly = false;
  for (const opt of (options ?? '').split(',')) {
    if (opt === 'ro') readOnly = true;
    else if (opt === 'rw') readOnly = false;
  }
  return { type: isHostPath(source) ? 'bind' : 'volume', source, target, readOnly };
}

export function parseVolume(entry: unknown, path: Path): ParsedVolume {
  if (typeof entry === 'string') return parseShortVolume(entry, path);
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw composeError('ComposeLoadError', `${formatPath(path)} must be a string or a mapping`, { path });
  }
  const v = entry as Record<string, unknown>;
  const type = v.type;
  if (typeof type !== 'string') throw composeError('ComposeLoadError', `${formatPath(path)}.type is required in the long volume syntax`, { path: [...path, 'type'] });
  if (!SUPPORTED_TYPES.has(type)) {
    throw composeError('ComposeLoadError', `${formatPath(path)}: volume type ${JSON.stringify(type)} is not supported by driftd (use bind, volume or tmpfs)`, { path: [...path, 'type'] });
  }
  if (typeof v.target !== 'string' || v.target === '') {
    throw composeError('ComposeLoadError', `${formatPath(path)}.target is required`, { path: [...path, 'target'] });
  }
  const out: ParsedVolume = { type: type as ParsedVolume['type'], target: v.target, readOnly: v.read_only === true };
  if (typeof v.source === 'string' && v.source !== '') out.source = v.source;
  if (out.type === 'bind' && out.source === undefined) {
    throw composeError('ComposeLoadError', `${formatPath(path)}.source is required for a bind mount`, { path });
  }
  return out;
}

/** The key compose uses to tell two entries apart (the mount target). */
export function volumeTarget(entry: unknown, path: Path): string {
  return parseVolume(entry, path).target;
}
