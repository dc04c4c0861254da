import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableReferenceError } from '../../src/errors.js';
import {
  escapeName,
  formatTableReference,
  normalizeTableReference,
  parseTableReference,
  tableReferencePathSegment,
  type TableReference,
  type TableReferenceInput,
} from '../../src/client/table-reference.js';

const VALID: Array<[string, TableReference, string?]> = [
  ['imathews.example.test', { owner: 'imathews', dataset: 'example', table: 'test' }],
  ['imathews.example:123.test:456', { owner: 'imathews', dataset: 'example', referenceId: '123', table: 'test', tableReferenceId: '456' }],
  ['demo.iris:sample.iris', { owner: 'demo', dataset: 'iris', sample: true, table: 'iris' }],
  ['demo.iris:v1_0.iris', { owner: 'demo', dataset: 'iris', version: 'v1_0', table: 'iris' }],
  ['demo.iris:current.iris', { owner: 'demo', dataset: 'iris', version: 'current', table: 'iris' }],
  ['demo.iris:next.iris', { owner: 'demo', dataset: 'iris', version: 'next', table: 'iris' }],
  ['demo.iris:7cfd-ab12:sample:v12_3.iris', { owner: 'demo', dataset: 'iris', referenceId: '7cfd-ab12', sample: true, version: 'v12_3', table: 'iris' }],
  ['demo.iris:7cfd:next.iris:99', { owner: 'demo', dataset: 'iris', referenceId: '7cfd', version: 'next', table: 'iris', tableReferenceId: '99' }],
  ['Demo_Org.My_Dataset__2020_.table_1', { owner: 'Demo_Org', dataset: 'My_Dataset__2020_', table: 'table_1' }],
  // Qualifiers are case-insensitive and come back in canonical lower case.
  ['demo.iris:SAMPLE:V1_0.iris', { owner: 'demo', dataset: 'iris', sample: true, version: 'v1_0', table: 'iris' }, 'demo.iris:sample:v1_0.iris'],
  ['demo.iris:Next.iris', { owner: 'demo', dataset: 'iris', version: 'next', table: 'iris' }, 'demo.iris:next.iris'],
];

test('parseTableReference reads every valid form, and formatting gives the canonical string back', () => {
  for (const [text, expected, canonical] of VALID) {
    const parsed = parseTableReference(text);
    assert.deepEqual(parsed, expected, text);
    assert.equal(formatTableReference(parsed), canonical ?? text, text);
    assert.equal(formatTableReference(text), canonical ?? text, text);
    assert.equal(normalizeTableReference(text), canonical ?? text, text);
    // A second round trip is stable.
    assert.deepEqual(parseTableReference(formatTableReference(parsed)), parseTableReference(canonical ?? text));
  }
});

const INVALID: Array<[string, string]> = [
  ['', 'reference'],
  ['owner.table', 'reference'],
  ['a.b.c.d', 'reference'],
  ['demo.iris:v1.0.iris', 'reference'],
  ['.iris.iris', 'owner'],
  ['de-mo.iris.iris', 'owner'],
  ['demo..iris', 'dataset'],
  ['demo.My Dataset.iris', 'dataset'],
  ['demo.iris:.iris', 'dataset'],
  ['demo.iris:sample:sample.iris', 'dataset'],
  ['demo.iris:next:sample.iris', 'dataset'],
  ['demo.iris:next:v1_0.iris', 'dataset'],
  ['demo.iris:sample:123.iris', 'dataset'],
  ['demo.iris:1:2.iris', 'dataset'],
  ['demo.iris:a_b.iris', 'dataset'],
  ['demo.iris.', 'table'],
  ['demo.iris.ta ble', 'table'],
  ['demo.iris.iris:', 'table'],
  ['demo.iris.iris:1:2', 'table'],
  ['demo.iris.iris:a_b', 'table'],
];

test('parseTableReference names the part at fault', () => {
  for (const [text, part] of INVALID) {
    assert.throws(
      () => parseTableReference(text),
      (error: unknown) =>
        error instanceof TableReferenceError && error.code === 'ERR_TABLE_REFERENCE' && error.part === part && error.reference === text,
      `${JSON.stringify(text)} should fail on ${part}`,
    );
  }
  assert.throws(() => parseTableReference(42 as unknown as string), { code: 'ERR_TABLE_REFERENCE', part: 'reference' });
});

test('structured references escape names, including workflows and version tags', () => {
  const cases: Array<[TableReference, string]> = [
    [{ owner: 'demo', dataset: 'My Dataset (2020)', table: 'Table #1' }, 'demo.My_Dataset__2020_.Table__1'],
    [{ owner: 'demo', dataset: 'Census', version: 'v1.0', table: 'people' }, 'demo.Census:v1_0.people'],
    [{ owner: 'demo', dataset: 'Census', version: 'NEXT', sample: true, referenceId: 'ab12', table: 'people', tableReferenceId: 'c-3' }, 'demo.Census:ab12:sample:next.people:c-3'],
    [{ owner: 'demo', workflow: 'My workflow', table: 'out' }, 'demo.My_workflow.out'],
    [{ owner: 'demo', workflow: 'wf', referenceId: 'x9', table: 'out' }, 'demo.wf:x9.out'],
    [{ owner: 'demo', dataset: 'Ünïcode données', table: 'é' }, 'demo._n_code_donn_es._'],
  ];
  for (const [reference, expected] of cases) {
    assert.equal(formatTableReference(reference), expected, JSON.stringify(reference));
    // What the formatter produces, the parser accepts.
    assert.equal(formatTableReference(parseTableReference(expected)), expected);
  }
  assert.equal(escapeName('My Dataset (2020)'), 'My_Dataset__2020_');
  assert.equal(escapeName('already_ok_123'), 'already_ok_123');
});

test('structured references that cannot be formatted name the part at fault', () => {
  const cases: Array<[unknown, string]> = [
    [null, 'reference'],
    [17, 'reference'],
    [{ dataset: 'd', table: 't' }, 'owner'],
    [{ owner: 'a b', dataset: 'd', table: 't' }, 'owner'],
    [{ owner: 'o', table: 't' }, 'dataset'],
    [{ owner: 'o', dataset: 'd', workflow: 'w', table: 't' }, 'workflow'],
    [{ owner: 'o', dataset: '', table: 't' }, 'dataset'],
    [{ owner: 'o', workflow: 7, table: 't' }, 'workflow'],
    [{ owner: 'o', dataset: 'd', table: '' }, 'table'],
    [{ owner: 'o', dataset: 'd' }, 'table'],
    [{ owner: 'o', workflow: 'w', version: 'next', table: 't' }, 'workflow'],
    [{ owner: 'o', workflow: 'w', sample: true, table: 't' }, 'workflow'],
    [{ owner: 'o', dataset: 'd', version: 'latest', table: 't' }, 'version'],
    [{ owner: 'o', dataset: 'd', version: 3, table: 't' }, 'version'],
    [{ owner: 'o', dataset: 'd', referenceId: 'a:b', table: 't' }, 'dataset'],
    [{ owner: 'o', workflow: 'w', referenceId: '', table: 't' }, 'workflow'],
    [{ owner: 'o', dataset: 'd', table: 't', tableReferenceId: 'x y' }, 'table'],
  ];
  for (const [reference, part] of cases) {
    assert.throws(
      () => formatTableReference(reference as TableReferenceInput),
      (error: unknown) => error instanceof TableReferenceError && error.part === part,
      `${JSON.stringify(reference)} should fail on ${part}`,
    );
  }
});

test('the URL path segment percent-encodes `:` and keeps `.`', () => {
  assert.equal(tableReferencePathSegment('imathews.example:123.test:456'), 'imathews.example%3A123.test%3A456');
  assert.equal(tableReferencePathSegment('demo.iris:sample:V1_0.iris'), 'demo.iris%3Asample%3Av1_0.iris');
  assert.equal(
    tableReferencePathSegment({ owner: 'demo', dataset: 'My Dataset (2020)', version: 'next', table: 'Table 1' }),
    'demo.My_Dataset__2020_%3Anext.Table_1',
  );
  for (const [text] of VALID) {
    const segment = tableReferencePathSegment(text);
    assert.doesNotMatch(segment, /[:/?#]/, segment);
    assert.equal(decodeURIComponent(segment), normalizeTableReference(text));
  }
  assert.throws(() => tableReferencePathSegment('demo.iris'), { code: 'ERR_TABLE_REFERENCE', part: 'reference' });
});
