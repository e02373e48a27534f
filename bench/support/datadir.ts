// A product data directory made the way `countersign init` makes it, in a temp dir the caller removes.
import { join } from 'node:path';
import type { ContextOverrides } from '../../src/server/context.ts';
import { type InitResult, initDataDir } from '../../src/server/init.ts';
import { tempDir } from '../lib.ts';

export interface BenchDataDir {
  dir: string;
  init: InitResult;
  /** Removes the whole temp dir; safe to call twice. */
  remove: () => void;
}

export async function freshDataDir(prefix: string, overrides: ContextOverrides = {}): Promise<BenchDataDir> {
  const tmp = tempDir(prefix);
  try {
    const dir = join(tmp.path, 'data');
    const init = await initDataDir(dir, overrides);
    return { dir, init, remove: tmp.remove };
  } catch (err) {
    tmp.remove();
    throw err;
  }
}
