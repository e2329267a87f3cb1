import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_CSV_MAPPINGS, parseMappingCsv } from './mapping-csv.js';

test('mapping CSV: header, comments, blanks and quotes; each bad line named by its number', () => {
  const csv = ['userId,accountId', '', '# comment', 'u-1, acc-1', '"u,2","acc-2"', '"say ""hi""",acc-3', 'only-one', 'a,b,c', '"open,acc-4'].join('\n');
  assert.deepEqual(parseMappingCsv(csv), {
    mappings: [
      { line: 4, externalUserId: 'u-1', accountId: 'acc-1' },
      { line: 5, externalUserId: 'u,2', accountId: 'acc-2' },
      { line: 6, externalUserId: 'say "hi"', accountId: 'acc-3' },
    ],
    problems: [
      { line: 7, message: 'expected two columns (your user ID, account ID), found 1' },
      { line: 8, message: 'expected two columns (your user ID, account ID), found 3' },
      { line: 9, message: 'an opening quote is never closed' },
    ],
  });
  assert.deepEqual(parseMappingCsv('u-1,acc-1\r\nu-2,acc-2').mappings.map((m) => m.line), [1, 2], 'no header: the first line is data');
  assert.deepEqual(parseMappingCsv(' \n# nothing\n').problems, [{ line: 0, message: 'the file holds no mappings' }]);
  const big = Array.from({ length: MAX_CSV_MAPPINGS + 1 }, (_, i) => `u-${i},acc-${i}`).join('\n');
  assert.equal(parseMappingCsv(big).problems[0]?.message, `at most ${MAX_CSV_MAPPINGS} lines per import; split the file`);
});
