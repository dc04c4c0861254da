import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_TEXT_DESCRIPTION,
  parseErrorBody,
  parseErrorPayloadHeader,
  warningsFromHeader,
} from '../../src/client/api-errors.js';

test('parseErrorBody reads the flat and the nested shape', () => {
  assert.deepEqual(parseErrorBody(JSON.stringify({ error: 'insufficient_scope', error_description: 'Needs data.edit', status: 403, scope: 'data.edit' })), {
    errorCode: 'insufficient_scope',
    errorDescription: 'Needs data.edit',
  });
  assert.deepEqual(parseErrorBody(JSON.stringify({ error: 'invalid_token', status: 401 })), {
    errorCode: 'invalid_token',
    errorDescription: undefined,
  });
  assert.deepEqual(parseErrorBody(JSON.stringify({ error: { message: 'Table not found', status: 404 } })), {
    errorCode: undefined,
    errorDescription: 'Table not found',
  });
  assert.deepEqual(parseErrorBody(JSON.stringify({ error: { code: 'not_found', message: 'Gone', status: 404 } })), {
    errorCode: 'not_found',
    errorDescription: 'Gone',
  });
  assert.deepEqual(parseErrorBody(JSON.stringify({ message: 'Top-level message' })), {
    errorCode: undefined,
    errorDescription: 'Top-level message',
  });
});

test('parseErrorBody never fails on bodies that are not the expected JSON', () => {
  assert.deepEqual(parseErrorBody(''), { errorCode: undefined, errorDescription: undefined });
  assert.deepEqual(parseErrorBody('  \n'), { errorCode: undefined, errorDescription: undefined });
  assert.deepEqual(parseErrorBody('Bad Gateway'), { errorCode: undefined, errorDescription: 'Bad Gateway' });
  assert.deepEqual(parseErrorBody('"quoted"'), { errorCode: undefined, errorDescription: 'quoted' });
  assert.deepEqual(parseErrorBody('[1,2]'), { errorCode: undefined, errorDescription: '[1,2]' });
  assert.deepEqual(parseErrorBody('{"unexpected":true}'), { errorCode: undefined, errorDescription: '{"unexpected":true}' });
  assert.deepEqual(parseErrorBody('{"error":null}'), { errorCode: undefined, errorDescription: '{"error":null}' });
  assert.deepEqual(parseErrorBody('{"truncated":'), { errorCode: undefined, errorDescription: '{"truncated":' });
  const html = `<html><body>${'x'.repeat(5000)}</body></html>`;
  const { errorDescription } = parseErrorBody(html);
  assert.equal(errorDescription, `${html.slice(0, MAX_TEXT_DESCRIPTION)}…`);
});

test('parseErrorPayloadHeader decodes the URL-encoded HEAD error payload', () => {
  const payload = { error: 'not_found', error_description: 'Upload "a b" not found', status: 404 };
  assert.deepEqual(parseErrorPayloadHeader(encodeURIComponent(JSON.stringify(payload))), {
    errorCode: 'not_found',
    errorDescription: 'Upload "a b" not found',
  });
  assert.deepEqual(parseErrorPayloadHeader([encodeURIComponent(JSON.stringify({ error: { message: 'm' } }))]), {
    errorCode: undefined,
    errorDescription: 'm',
  });
  assert.deepEqual(parseErrorPayloadHeader('%7B%22error%22%3A%22x%22%7D'), { errorCode: 'x', errorDescription: undefined });
  assert.deepEqual(parseErrorPayloadHeader('plain+text+here'), { errorCode: undefined, errorDescription: 'plain text here' });
  assert.deepEqual(parseErrorPayloadHeader('%E0%A4%A'), { errorCode: undefined, errorDescription: '%E0%A4%A' });
  assert.deepEqual(parseErrorPayloadHeader(undefined), { errorCode: undefined, errorDescription: undefined });
  assert.deepEqual(parseErrorPayloadHeader(''), { errorCode: undefined, errorDescription: undefined });
});

test('warningsFromHeader lists every non-empty value', () => {
  assert.deepEqual(warningsFromHeader(undefined), []);
  assert.deepEqual(warningsFromHeader(' deprecated '), ['deprecated']);
  assert.deepEqual(warningsFromHeader(['a', '', 'b']), ['a', 'b']);
});
