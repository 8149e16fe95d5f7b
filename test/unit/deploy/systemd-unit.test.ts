/**
 * Issue 11 item 6: the shipped systemd unit makes the state dir private (StateDirectoryMode=0700;
 * systemd's default is 0755) and runs driftd under umask 077. Parsed as systemd reads it: the last
 * assignment of a key in [Service] wins.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function serviceSettings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1] ?? '';
    else if (section === 'Service' && line.includes('=')) out.set(line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim());
  }
  return out;
}

describe('deploy/driftd.service', () => {
  const unit = serviceSettings(readFileSync(path.resolve(import.meta.dirname, '../../../deploy/driftd.service'), 'utf8'));

  it('creates the state dir 0700 and runs driftd with umask 0077', () => {
    expect(unit.get('StateDirectory')).toBe('driftd');
    expect(unit.get('StateDirectoryMode')).toBe('0700');
    expect(unit.get('UMask')).toBe('0077');
  });

  it('every other directory systemd creates for it is private too', () => {
    for (const key of ['RuntimeDirectory', 'CacheDirectory', 'LogsDirectory', 'ConfigurationDirectory']) {
      if (unit.has(key)) expect(unit.get(`${key}Mode`), key).toBe('0700');
    }
  });
});
