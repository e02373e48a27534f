import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../config/index.ts';
import { REFERENCE_PAGES, undescribedFields } from './index.ts';

const onDisk = (file: string) => readFileSync(new URL(`../../docs/reference/${file}`, import.meta.url), 'utf8');

for (const page of REFERENCE_PAGES) {
  test(`docs/reference/${page.file} is what the generator prints`, () => {
    assert.equal(onDisk(page.file), page.render(), `docs/reference/${page.file} is stale: run \`npm run docs:reference\``);
  });

  test(`every field documented in docs/reference/${page.file} has a description in its schema`, () => {
    assert.deepEqual(undescribedFields(page.schema), [], 'add a .describe() to each of these fields');
  });

  test(`the example of docs/reference/${page.file} is valid`, () => {
    if (page.file === 'config.md') {
      // The config loader itself: ${env:NAME} interpolation included.
      parseConfig(page.example, { COUNTERSIGN_DATABASE_URL: 'postgres://u:p@db.example.com:5432/countersign' });
      return;
    }
    const r = page.schema.safeParse(parseYaml(page.example));
    assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues));
  });
}

test('a field without a description is reported by its path', async () => {
  const { z } = await import('zod');
  const schema = z.object({
    a: z.string().describe('described'),
    nested: z.object({ b: z.number() }).describe('described too'),
    list: z.array(z.object({ c: z.boolean() })).describe('a list'),
  });
  assert.deepEqual(undescribedFields(schema), ['nested.b', 'list[].c']);
});
