import { describe, expect, it } from 'vitest';
import { DotenvError, parseDotenv } from '../../../src/compose/dotenv.js';

const parse = (text: string, lookup: Record<string, string> = {}) => Object.fromEntries(parseDotenv(text, (k) => lookup[k]));

describe('parseDotenv: single values (compose-go godotenv cases)', () => {
  it.each([
    ['FOO=bar', 'FOO', 'bar'],
    ['FOO =bar', 'FOO', 'bar'],
    ['FOO= bar', 'FOO', 'bar'],
    ['FOO="bar"', 'FOO', 'bar'],
    ["FOO='bar'", 'FOO', 'bar'],
    ['FOO="escaped\\"bar"', 'FOO', 'escaped"bar'],
    ['FOO="\\"quoted\\""', 'FOO', '"quoted"'],
    ['FOO="\'d\'"', 'FOO', "'d'"],
    ['OPTION_A: 1', 'OPTION_A', '1'],
    ['OPTION_A: Foo=bar', 'OPTION_A', 'Foo=bar'],
    ['OPTION_A=1:B', 'OPTION_A', '1:B'],
    ['export OPTION_A=2', 'OPTION_A', '2'],
    ["export OPTION_B='\\n'", 'OPTION_B', '\\n'],
    ['export exportFoo=2', 'exportFoo', '2'],
    ['exportFOO=2', 'exportFOO', '2'],
    ['export_FOO =2', 'export_FOO', '2'],
    ['export.FOO= 2', 'export.FOO', '2'],
    ['export\tOPTION_A=2', 'OPTION_A', '2'],
    ['  export OPTION_A=2', 'OPTION_A', '2'],
    ['\texport OPTION_A=2', 'OPTION_A', '2'],
    ['export OPTION_A="export A"', 'OPTION_A', 'export A'],
    ['FOO="bar\\nbaz"', 'FOO', 'bar\nbaz'],
    ['FOO=a\\tb', 'FOO', 'a\\tb'],
    ['FOO="a\\tb"', 'FOO', 'a\tb'],
    ['KEY="Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z"', 'KEY', 'Z\x07Z\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ'],
    ['FOO.BAR=foobar', 'FOO.BAR', 'foobar'],
    ['FOO=foobar=', 'FOO', 'foobar='],
    ['FOO=bar ', 'FOO', 'bar'],
    ['FOO=bar # this is foo', 'FOO', 'bar'],
    ['FOO=bar #this is foo', 'FOO', 'bar'],
    ['FOO=bar #', 'FOO', 'bar'],
    ['FOO=123#not-an-inline-comment', 'FOO', '123#not-an-inline-comment'],
    ['FOO="bar#baz"', 'FOO', 'bar#baz'],
    ['FOO="bar#baz"#', 'FOO', 'bar#baz'],
    ['FOO="bar#baz" # comment', 'FOO', 'bar#baz'],
    ["FOO='bar#baz' # comment", 'FOO', 'bar#baz'],
    ['FOO="bar#baz#bang" # comment', 'FOO', 'bar#baz#bang'],
    ['FOO="ba#r"', 'FOO', 'ba#r'],
    ["FOO='ba#r'", 'FOO', 'ba#r'],
    ['FOO="bar\\n\\ b\\az"', 'FOO', 'bar\n\\ b\x07z'],
    ['FOO="bar\\\\\\n\\ b\\az"', 'FOO', 'bar\\\n\\ b\x07z'],
    ['FOO="bar\\\\r\\ b\\az"', 'FOO', 'bar\\r\\ b\x07z'],
    ['FOO="bar\\nbaz\\\\"', 'FOO', 'bar\nbaz\\'],
    ['="value"', '', 'value'],
    [' KEY =value', 'KEY', 'value'],
    ['   KEY=value', 'KEY', 'value'],
    ['\tKEY=value', 'KEY', 'value'],
    ['KEY="\\0123"', 'KEY', 'S'],
    ['KEY="\\x07"', 'KEY', '\\x07'],
    ['KEY="\\u12e4"', 'KEY', '\\u12e4'],
    ['\uFEFFBOM=1', 'BOM', '1'],
    ['VAR-WITH-DASHES=dashes', 'VAR-WITH-DASHES', 'dashes'],
    ['a[1]=c', 'a[1]', 'c'],
    ['árvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép', 'árvíztűrő-TÜKÖRFÚRÓGÉP', 'ÁRVÍZTŰRŐ-tükörfúrógép'],
    ['FOO="foo\\$BAR"', 'FOO', 'foo$BAR'],
    ['FOO="foo\\${BAR}"', 'FOO', 'foo${BAR}'],
    ["BAR='quote $FOO'", 'BAR', 'quote $FOO'],
    ['FOO=$$literal', 'FOO', '$literal'],
    ['TEST_URLS="a:3333\nb:443"', 'TEST_URLS', 'a:3333\nb:443'],
  ])('%j → %s=%j', (text, key, value) => {
    expect(parse(text)[key]).toBe(value);
  });
});

describe('parseDotenv: files', () => {
  it('skips blank lines and comments and handles multi-line quotes', () => {
    const text = [
      '# a comment',
      '',
      '\t # indented comment',
      'OPTION_A=1',
      "OPTION_J='first line",
      'second line',
      "and so on'",
      'OPTION_K="Let\'s go!"',
      'OPTION_Z=last value',
      '',
    ].join('\n');
    expect(parse(text)).toEqual({ OPTION_A: '1', OPTION_J: 'first line\nsecond line\nand so on', OPTION_K: "Let's go!", OPTION_Z: 'last value' });
  });

  it.each([
    ['FOO=test\nBAR=$FOO', { FOO: 'test', BAR: 'test' }],
    ['FOO=test\nBAR=${FOO}bar', { FOO: 'test', BAR: 'testbar' }],
    ['BAR=$FOO', { BAR: '' }],
    ['FOO=test\nBAR="quote $FOO"', { FOO: 'test', BAR: 'quote test' }],
    ['FOO=test\nBAR="foo\\${FOO} ${FOO}"', { FOO: 'test', BAR: 'foo${FOO} test' }],
    ['OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}', { OPTION_A: '1', OPTION_B: '1', OPTION_C: '1', OPTION_D: '1_1', OPTION_E: '' }],
    ['RESULT=${UNSET_VAR:-Default Value}', { RESULT: 'Default Value' }],
    ['E=\nRESULT=${E-Default}', { E: '', RESULT: '' }],
  ])('interpolates values: %j', (text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  it('the lookup wins over earlier values of the file, and fills bare inherited keys', () => {
    expect(parse('OPTION_A=1\nOPTION_B=${OPTION_A}\nINHERITED\nMISSING\n', { OPTION_A: '5', INHERITED: 'from-lookup' })).toEqual({
      OPTION_A: '1',
      OPTION_B: '5',
      INHERITED: 'from-lookup',
    });
  });

  it('a bare key on the last line without a newline is inherited too', () => {
    expect(parse('A=1\nB', { B: 'x' })).toEqual({ A: '1', B: 'x' });
  });

  it.each([
    ['KEY="', 'line 1: unterminated quoted value'],
    ['KEY="value', 'unterminated quoted value'],
    ['KEY="value\\"', 'unterminated quoted value'],
    ["KEY='value", 'unterminated quoted value'],
    // Value-free: the line and column, never the line's text (it may hold a secret).
    ['lol$wut', 'line 1: unexpected character ("$", column 4) in a variable name'],
    ['A=1\n\n%!(EXTRA string)=foo', 'line 3: unexpected character ("%", column 1) in a variable name'],
    ['A=1\nMY KEY=2', 'line 2: key cannot contain a space'],
    ['A=1\nB=${ bad}', 'line 2: invalid interpolation format'],
    ['A=1\nB="${REQ:?must be set}"', 'line 2: required variable REQ is missing a value: must be set'],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parse(text)).toThrow(DotenvError);
    expect(() => parse(text)).toThrow(message);
  });

  it('error lines count multi-line values', () => {
    try {
      parse("A='x\ny\nz'\nB=${ bad}");
      expect.unreachable();
    } catch (e) {
      expect((e as DotenvError).line).toBe(4);
    }
  });
});
