import { describe, expect, it } from 'vitest';
import type { DriftReport, Finding, FindingKind } from '../../../src/drift/model.js';
import { toJsonReport } from '../../../src/report/json.js';
import { formatMarkdown, mdCode, mdFence, mdText } from '../../../src/report/markdown.js';
import { formatTable } from '../../../src/report/table.js';
import { appFindings, report, stacks, unmanaged } from './fixtures.js';

const ALL_KINDS: FindingKind[] = [
  'stack-missing',
  'stack-unmanaged',
  'revision-behind',
  'config-drift',
  'service-missing',
  'service-extra',
  'replicas-mismatch',
  'image-drift',
  'image-outdated',
  'image-unpinned',
  'container-unhealthy',
  'container-not-running',
  'lock-stale',
];

const stripAnsi = (s: string): string => s.split('\u001b').map((part, i) => (i === 0 ? part : part.replace(/^\[\d+m/, ''))).join('');

function shuffled(r: DriftReport): DriftReport {
  return {
    ...r,
    stacks: [...r.stacks].reverse().map((s) => ({ ...s, findings: [...s.findings].reverse() })),
    unmanaged: [...r.unmanaged].reverse(),
  };
}

describe('formatTable', () => {
  const out = formatTable(report());
  const lines = out.split('\n');

  it('prints a header, one row per stack sorted by name, then findings, then the summary', () => {
    expect(lines[0]).toBe('host web-01  revision v1.1.0 (bbbbbbbbbbbb)  at 2026-11-21T10:15:00.000Z');
    expect(lines.slice(2, 6)).toEqual([
      'STACK  SYNC       HEALTH    FINDINGS  WORST',
      'app    OutOfSync  Degraded  15        error',
      'db     Synced     Healthy   0         -',
      'edge   Unknown    Unknown   0         -',
    ]);
    expect(out.endsWith('\n')).toBe(true);
    expect(lines.at(-2)).toBe('3 stacks: 1 synced, 1 out of sync, 1 unknown; 16 findings (5 error, 8 warning, 2 info); 1 unmanaged project');
  });

  it('prints one line per finding as `severity kind stack/service: message`, most severe first', () => {
    const findingLines = lines.filter((l) => /^(error|warning|info) /.test(l));
    expect(findingLines).toHaveLength(appFindings.length + unmanaged.length);
    expect(findingLines[0]).toBe('error    container-not-running  app/web: exited (1)');
    expect(findingLines).toContain('error    stack-missing          app: desired for this host, no container live');
    expect(findingLines).toContain('warning  stack-unmanaged        stray: project stray runs here but is not declared for this host');
    const severities = findingLines.slice(0, appFindings.length).map((l) => l.split(' ')[0]);
    expect(severities).toEqual([...severities].sort((a, b) => ['error', 'warning', 'info'].indexOf(a!) - ['error', 'warning', 'info'].indexOf(b!)));
    for (const kind of ALL_KINDS) expect(findingLines.some((l) => l.includes(` ${kind} `))).toBe(true);
  });

  it('prints the reason of a stack that could not be evaluated', () => {
    expect(lines.some((l) => /^unknown +edge: stack edge: compose.yaml line 3: bad \| value$/.test(l))).toBe(true);
  });

  it('is plain without colour and the same text with colour once ANSI codes are stripped', () => {
    expect(out).not.toContain('\u001b[');
    const coloured = formatTable(report(), { color: true });
    expect(coloured).toContain('\u001b[31merror\u001b[0m');
    expect(coloured).toContain('\u001b[32mSynced\u001b[0m');
    expect(stripAnsi(coloured)).toBe(out);
  });

  it('does not depend on the order of stacks and findings in the input', () => {
    expect(formatTable(shuffled(report()))).toBe(out);
  });

  it('neutralises control characters and newlines from untrusted text', () => {
    const evil: Finding = { kind: 'stack-unmanaged', stack: 'x', severity: 'warning', message: 'name \u001b[2J\u001b]0;pwned\u0007 is\nhere' };
    const text = formatTable(report({ unmanaged: [evil] }));
    expect(text).not.toContain('\u001b');
    expect(text).not.toContain('\u0007');
    expect(text).toContain('x: name \\x1b[2J\\x1b]0;pwned\\x07 is here');
  });

  it('says so when the host has no stacks', () => {
    const empty = report({ stacks: [], unmanaged: [], summary: { stacks: 0, synced: 0, outOfSync: 0, unknown: 0, findings: 0, bySeverity: { error: 0, warning: 0, info: 0 } } });
    const text = formatTable(empty);
    expect(text).toContain('(no stacks declared for this host)');
    expect(text.trimEnd().split('\n').at(-1)).toBe('0 stacks: 0 synced, 0 out of sync, 0 unknown; 0 findings (0 error, 0 warning, 0 info)');
  });

  it('shows an unreadable revision with its reason', () => {
    const { revision: _r, ...rest } = report();
    const text = formatTable({ ...rest, revisionError: 'cannot reach http://127.0.0.1:9/x.git: connection refused' });
    expect(text.split('\n')[0]).toBe('host web-01  revision unknown (cannot reach http://127.0.0.1:9/x.git: connection refused)  at 2026-11-21T10:15:00.000Z');
  });
});

describe('formatMarkdown', () => {
  const md = formatMarkdown(report());

  it('starts with metadata and a summary table with every stack', () => {
    expect(md.startsWith('# driftd drift report: web-01\n\n- Host: `web-01`\n- Revision: v1.1.0 (bbbbbbbbbbbb)\n')).toBe(true);
    expect(md).toContain(
      [
        '| Stack | Sync | Health | Findings | Worst severity | Reason |',
        '|---|---|---|---:|---|---|',
        '| app | OutOfSync | Degraded | 15 | error |  |',
        '| db | Synced | Healthy | 0 | - |  |',
        '| edge | Unknown | Unknown | 0 | - | stack edge: compose.yaml line 3: bad \\| value |',
      ].join('\n'),
    );
  });

  it('lists every finding kind with its target, and desired/live values', () => {
    for (const kind of ALL_KINDS) expect(md).toContain(`\`${kind}\``);
    expect(md).toContain('- **error** `image-drift` `app/web`: runs sha256:bbb, locked sha256:aaa\n  - desired: `sha256:aaa`\n  - live: `sha256:bbb`');
    expect(md).toContain('### Unmanaged\n\n- **warning** `stack-unmanaged` `stray`: project stray runs here but is not declared for this host');
  });

  it('puts diffs in fenced diff blocks', () => {
    expect(md).toMatch(/\n {2}```diff\n {2}--- a\/stacks\/app\/app\.env\n {2}\+\+\+ b\/stacks\/app\/app\.env\n {2}@@ -1 \+1 @@\n {2}-API_CODE=.*\n {2}\+API_CODE=.*\n {2}```\n/);
  });

  it('escapes pipes in table cells and markup in text', () => {
    expect(md).toContain('health check failing \\| 3 times');
    const tricky = report({
      stacks: [{ stack: 'a|b', sync: 'Unknown', health: 'Unknown', reason: '<script>x</script> *bold* | [link](y)', findings: [] }],
      unmanaged: [],
    });
    const row = formatMarkdown(tricky)
      .split('\n')
      .find((l) => l.startsWith('| a'));
    expect(row).toBe('| a\\|b | Unknown | Unknown | 0 | - | &lt;script&gt;x&lt;/script&gt; \\*bold\\* \\| \\[link\\](y) |');
    // Exactly 7 unescaped pipes: the row keeps its 6 cells.
    expect(row!.replace(/\\\|/g, '').split('|')).toHaveLength(8);
  });

  it('never lets a diff or value close its fence early', () => {
    const diff = '--- a/x.md\n+++ b/x.md\n@@ -1 +1 @@\n-```\n+````sh\n';
    const text = formatMarkdown(report({ stacks: [{ stack: 'a', sync: 'OutOfSync', health: 'Healthy', findings: [{ kind: 'revision-behind', stack: 'a', severity: 'warning', message: 'm', diff }] }], unmanaged: [] }));
    expect(text).toContain('  `````diff\n  --- a/x.md\n');
    expect(text).toContain('\n  +````sh\n  `````\n');
    expect(mdFence('a', 'diff')).toBe('```diff\na\n```');
    expect(mdCode('a ` b')).toBe('``a ` b``');
    expect(mdCode('`x`')).toBe('`` `x` ``');
    expect(mdText('a_b*c')).toBe('a\\_b\\*c');
  });

  it('shows long values as JSON blocks', () => {
    const big = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`KEY_${i}`, `value-${i}`]));
    const text = formatMarkdown(report({ stacks: [{ stack: 'a', sync: 'OutOfSync', health: 'Healthy', findings: [{ kind: 'config-drift', stack: 'a', service: 's', severity: 'warning', field: 'labels', message: 'labels differ', desired: big, live: {} }] }], unmanaged: [] }));
    expect(text).toContain('  - desired:\n\n    ```json\n    {\n      "KEY_0": "value-0",');
    expect(text).toContain('  - live: `{}`');
  });

  it('says "No findings." for a clean report and is order-independent', () => {
    const clean = report({ stacks: [{ stack: 'db', sync: 'Synced', health: 'Healthy', findings: [] }], unmanaged: [] });
    expect(formatMarkdown(clean)).toContain('\nNo findings.\n');
    expect(formatMarkdown(shuffled(report()))).toBe(md);
    expect(md).not.toMatch(/\n\n\n/);
    expect(md.endsWith('\n')).toBe(true);
  });
});

describe('toJsonReport', () => {
  const text = toJsonReport(report());
  const doc = JSON.parse(text) as Record<string, unknown>;

  it('is versioned, two-space indented, with a trailing newline and documented key order', () => {
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.startsWith('{\n  "schemaVersion": 1,\n  "driftdVersion": "0.1.0",\n  "host": "web-01",')).toBe(true);
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'driftdVersion', 'host', 'generatedAt', 'repo', 'revision', 'summary', 'stacks', 'unmanaged', 'timings']);
    const app = (doc.stacks as Record<string, unknown>[])[0]!;
    expect(Object.keys(app)).toEqual(['stack', 'sync', 'health', 'deployedRevision', 'targetRevision', 'findings']);
    const drift = (app.findings as Record<string, unknown>[]).find((f) => f.field === 'environment')!;
    expect(Object.keys(drift)).toEqual(['kind', 'severity', 'stack', 'service', 'field', 'message', 'desired', 'live']);
    expect(Object.keys(doc.timings as object)).toEqual(['git', 'total']);
    expect(Object.keys((doc.summary as { bySeverity: object }).bySeverity)).toEqual(['error', 'warning', 'info']);
  });

  it('keeps every finding and sorts stacks by name', () => {
    const out = doc as unknown as DriftReport;
    expect(out.stacks.map((s) => s.stack)).toEqual(['app', 'db', 'edge']);
    expect(out.stacks[0]!.findings).toHaveLength(appFindings.length);
    expect(new Set([...out.stacks.flatMap((s) => s.findings), ...out.unmanaged].map((f) => f.kind))).toEqual(new Set(ALL_KINDS));
    expect(out.stacks[2]!.reason).toBe(stacks[0]!.reason);
  });

  it('is byte-identical whatever the input order, and keeps extra (additive) fields after the documented ones', () => {
    expect(toJsonReport(shuffled(report()))).toBe(text);
    const extra = { ...report(), zExtra: { b: 1, a: 2 } } as DriftReport;
    expect(toJsonReport(extra)).toContain('"timings": {\n    "git": 30,\n    "total": 120\n  },\n  "zExtra": {\n    "a": 2,\n    "b": 1\n  }\n}\n');
  });

  it('writes revisionError instead of revision when the repo could not be read', () => {
    const { revision: _r, ...rest } = report();
    const out = JSON.parse(toJsonReport({ ...rest, revisionError: 'tag v9 not found' })) as Record<string, unknown>;
    expect(out.revision).toBeUndefined();
    expect(out.revisionError).toBe('tag v9 not found');
    expect(Object.keys(out).indexOf('revisionError')).toBe(5);
  });
});
