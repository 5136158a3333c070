import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUuid, newId } from '../../src/core/ids.js';

describe('newId', () => {
  it('makes unique, time-ordered UUIDv7 strings', () => {
    const ids = Array.from({ length: 5000 }, () => newId(Date.UTC(2026, 0, 1)));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids, 'ids made in order sort in order, even within one millisecond');
    for (const id of ids.slice(0, 10)) {
      assert.ok(isUuid(id));
      assert.equal(id[14], '7', 'version 7');
      assert.match(id[19]!, /[89ab]/, 'RFC 9562 variant');
    }
    const later = newId(Date.UTC(2026, 0, 2));
    assert.ok(later > ids.at(-1)!);
    assert.equal(parseInt(later.replace(/-/g, '').slice(0, 12), 16), Date.UTC(2026, 0, 2));
  });
});
