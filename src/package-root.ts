import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of Countersign's package.json, found by walking up from this module. A fixed
 * relative path would not do: this code runs from src/ under tsx and from the bundled CLI's
 * chunks in dist/bundle/, at another depth below the package root each time.
 */
export const PACKAGE_ROOT: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'countersign') return dir;
      } catch {
        // An unreadable package.json on the way up is not ours: keep walking.
      }
    }
    if (dirname(dir) === dir) return start;
  }
}
