// Route schemas compile on first use, and the rest soon after start-up (LazySchemas).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LazySchemas } from '../../src/api/lazy-schemas.js';

it('compiles a schema at its first call, once, with the arguments passed through', () => {
  const schemas = new LazySchemas();
  const compiled: string[] = [];
  const compiler = schemas.wrap((name: string) => {
    compiled.push(name);
    return (x: number) => `${name}:${x}`;
  });
  const a = compiler('a');
  compiler('b');
  assert.deepEqual(compiled, [], 'nothing compiles while routes are registered');
  assert.equal(a(1), 'a:1');
  assert.equal(a(2), 'a:2');
  assert.deepEqual(compiled, ['a']);
  assert.equal(schemas.pending, 2, 'both wait for warm (a is compiled already: warm skips it)');
});

it('warm compiles the rest in the background and reports a schema that fails', async () => {
  const schemas = new LazySchemas();
  const compiled: string[] = [];
  const compiler = schemas.wrap((name: string) => {
    if (name === 'broken') throw new Error('unknown keyword');
    compiled.push(name);
    return () => name;
  });
  compiler('a');
  compiler('broken');
  compiler('c');
  const errors: unknown[] = [];
  schemas.warm((err) => errors.push(err));
  while (schemas.pending > 0) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(compiled, ['a', 'c']);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /unknown keyword/);
});
