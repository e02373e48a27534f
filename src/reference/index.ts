// The field reference of the manifest, config and approval-rules files, generated from their zod
// schemas (docs/reference/*.md). `npm run docs:reference` writes it; a test keeps it current.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_PAGES, type ReferencePage } from './pages.ts';

export { type FieldRow, fieldRows, undescribedFields } from './fields.ts';
export { REFERENCE_PAGES, type ReferencePage };

/** The directory the pages are written to, relative to the repository root. */
export const REFERENCE_DIR = join('docs', 'reference');

/** Writes every page under `<root>/docs/reference/` and returns the files written. */
export function writeReferenceDocs(root: string): string[] {
  const dir = join(root, REFERENCE_DIR);
  mkdirSync(dir, { recursive: true });
  return REFERENCE_PAGES.map((p) => {
    const file = join(dir, p.file);
    writeFileSync(file, p.render());
    return file;
  });
}
