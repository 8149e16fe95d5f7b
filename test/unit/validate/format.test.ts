import { describe, expect, it } from 'vitest';
import { formatFindingLine, formatValidateJson, formatValidateText } from '../../../src/validate/format.js';
import type { ValidateResult } from '../../../src/validate/model.js';

const RESULT: ValidateResult = {
  schemaVersion: 1,
  root: '/repo',
  findings: [
    { file: 'stacks/Bad', severity: 'error', kind: 'invalid-stack-name', message: 'rename it' },
    { file: 'stacks/a/compose.yaml', line: 3, severity: 'warning', kind: 'image-latest', message: 'pin it' },
  ],
  summary: { stacks: 2, findings: 2, bySeverity: { error: 1, warning: 1 } },
  exitCode: 2,
};

describe('validate output', () => {
  it.each([
    [RESULT.findings[0], 'stacks/Bad: error invalid-stack-name: rename it'],
    [RESULT.findings[1], 'stacks/a/compose.yaml:3: warning image-latest: pin it'],
  ])('one line per finding: %s', (f, want) => {
    expect(formatFindingLine(f!)).toBe(want);
  });

  it('text: the lines, then a summary', () => {
    expect(formatValidateText(RESULT).split('\n')).toEqual([
      'stacks/Bad: error invalid-stack-name: rename it',
      'stacks/a/compose.yaml:3: warning image-latest: pin it',
      '2 findings (1 error, 1 warning) in 2 stacks',
    ]);
    expect(formatValidateText({ ...RESULT, findings: [], summary: { stacks: 1, findings: 0, bySeverity: { error: 0, warning: 0 } }, exitCode: 0 })).toBe('no findings in 1 stack');
  });

  it('JSON: schemaVersion, findings with line null when unknown, summary', () => {
    expect(JSON.parse(formatValidateJson(RESULT))).toEqual({
      schemaVersion: 1,
      findings: [
        { file: 'stacks/Bad', line: null, severity: 'error', kind: 'invalid-stack-name', message: 'rename it' },
        { file: 'stacks/a/compose.yaml', line: 3, severity: 'warning', kind: 'image-latest', message: 'pin it' },
      ],
      summary: { stacks: 2, findings: 2, bySeverity: { error: 1, warning: 1 } },
    });
  });
});
