import { describe, expect, it } from 'vitest';
import { InvalidTemplateError, MissingRequiredError, substitute, type Lookup } from '../../../src/compose/template.js';

// The same variables as compose-go's template_test.go.
const defaults: Record<string, string> = { FOO: 'first', BAR: '', JSON: '{"json":2}' };
const lookup: Lookup = (name) => defaults[name];

describe('substitute: cases from compose-go template tests', () => {
  it.each([
    ['$${foo}', '${foo}'],
    ['foo', 'foo'],
    // unescaped dollars that are not templates stay as written
    ['a $ string', 'a $ string'],
    ['^REGEX$', '^REGEX$'],
    ['$}', '$}'],
    ['$', '$'],
    ['$1', '$1'],
    // non-braced names stop at the first non-name character (docker/compose#8601)
    ['$FOO-bar', 'first-bar'],
    ['This ${missing} var', 'This  var'],
    ['This ${BAR} var', 'This  var'],
    ['This $FOO var', 'This first var'],
    ['This ${FOO} var', 'This first var'],
    ['ok ${missing:-def}', 'ok def'],
    ['ok ${missing-def}', 'ok def'],
    ['${A:+${A},}B', 'B'],
    ['${A:-${B}}', ''],
    ['ok ${BAR:-def}', 'ok def'],
    ['ok ${FOO:-def}', 'ok first'],
    ['ok ${BAR-def}', 'ok '],
    ['ok ${UNSET_VAR:+presence_value}', 'ok '],
    ['ok ${UNSET_VAR+presence_value}', 'ok '],
    ['ok ${FOO:+presence_value}', 'ok presence_value'],
    ['ok ${FOO+presence_value}', 'ok presence_value'],
    ['ok ${BAR+presence_value}', 'ok presence_value'],
    ['ok ${BAR:+presence_value}', 'ok '],
    ['ok ${BAR:-/non:-alphanumeric}', 'ok /non:-alphanumeric'],
    // outer text that looks like an operator does not interfere
    ['-ok ${BAR:-defaultValue}', '-ok defaultValue'],
    ['+ok ${UNSET:-${BAR-defaultValue}}', '+ok '],
    ['-ok ${FOO:-defaultValue}', '-ok first'],
    [':-ok ${UNSET-defaultValue}', ':-ok defaultValue'],
    [':-ok ${BAR-defaultValue}', ':-ok '],
    [':?ok ${BAR-defaultValue}', ':?ok '],
    [':?ok ${BAR:-defaultValue}', ':?ok defaultValue'],
    [':+ok ${BAR:-defaultValue}', ':+ok defaultValue'],
    ['+ok ${BAR-defaultValue}', '+ok '],
    ['?ok ${BAR:-defaultValue}', '?ok defaultValue'],
    // nested defaults
    ['ok ${UNSET_VAR-$FOO}', 'ok first'],
    ['ok ${UNSET_VAR-${FOO}}', 'ok first'],
    ['ok ${UNSET_VAR-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR:-$FOO}', 'ok first'],
    ['ok ${BAR:-${FOO}}', 'ok first'],
    ['ok ${BAR:-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR+$FOO}', 'ok first'],
    ['ok ${BAR+$FOO ${FOO:+second}}', 'ok first second'],
    ['ok ${FOO:?err}', 'ok first'],
    ['ok ${FOO?err}', 'ok first'],
    ['ok ${BAR?err}', 'ok '],
    // precedence: the operator right after the name wins
    ['${UNSET_VAR-myerror?msg}', 'myerror?msg'],
    ['${FOO?bar-baz}', 'first'],
    ['${BAR:-default_value_for_empty_var}', 'default_value_for_empty_var'],
    ['${UNSET_VAR-default_value_for_unset_var}', 'default_value_for_unset_var'],
    // curly braces inside defaults
    ['ok ${missing:-{"json":1}}', 'ok {"json":1}'],
    ['ok ${missing-{"json":1}}', 'ok {"json":1}'],
    ['ok ${JSON:-{"json":1}}', 'ok {"json":2}'],
    ['ok ${JSON-{"json":1}}', 'ok {"json":2}'],
    ['ok ${SUBDOMAIN:-redis}.${FOO:?}', 'ok redis.first'],
    // several templates, text around them, case of names kept
    ['${FOO}${FOO}', 'firstfirst'],
    ['${FOO:-a}/${BAR:-b}/$FOO', 'first/b/first'],
    ['pre-${UNSET:-x}-mid-${FOO}-post', 'pre-x-mid-first-post'],
    ['$$FOO and $$$FOO', '$FOO and $first'],
    ['$foo', ''],
    ['${_under_score:-u}', 'u'],
  ])('%s → %s', (template, expected) => {
    expect(substitute(template, lookup)).toBe(expected);
  });
});

describe('substitute: errors', () => {
  it.each(['${', '${}', '${ }', '${ foo}', '${foo }', '${foo!}', 'ok ${UNSET:-${ bad}}', '${FOO:x}', '${9abc}'])('%s is an invalid template', (template) => {
    expect(() => substitute(template, lookup)).toThrow(InvalidTemplateError);
  });

  it.each([
    ['not ok ${UNSET_VAR:?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${BAR:?Mandatory Variable Empty}', 'required variable BAR is missing a value: Mandatory Variable Empty'],
    ['not ok ${UNSET_VAR:?}', 'required variable UNSET_VAR is missing a value'],
    ['not ok ${UNSET_VAR?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${UNSET_VAR?}', 'required variable UNSET_VAR is missing a value'],
    ['not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
    ['not ok ${UNSET_VAR?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
    ['${UNSET_VAR?bar-baz}', 'required variable UNSET_VAR is missing a value: bar-baz'],
  ])('%s fails: %s', (template, message) => {
    expect(() => substitute(template, lookup)).toThrow(MissingRequiredError);
    expect(() => substitute(template, lookup)).toThrow(message);
  });

  it('an unused default or message is never evaluated (lazy)', () => {
    expect(substitute('${FOO:-${ broken}}', lookup)).toBe('first');
    expect(substitute('${FOO?${ broken}}', lookup)).toBe('first');
    expect(substitute('${UNSET:+${ broken}}', lookup)).toBe('');
  });

  it('reports each unset variable that resolves to a blank string, and only those', () => {
    const missing: string[] = [];
    substitute('${A:+${A},}B $C ${D:-x} ${E-${F}} ${FOO}', lookup, { onMissing: (n) => missing.push(n) });
    expect(missing).toEqual(['C', 'F']);
  });
});
