import { loadConfig } from '../config/index.ts';
import { systemPrincipal } from '../operations/index.ts';
import type { ContextOverrides } from './context.ts';
import { dataDirPaths } from './datadir.ts';
import { hostPipelineFor } from './host.ts';
import { openStore } from './store-binding.ts';

/** Adds a grant signing key and makes it current, as the `grant.rotate` host operation. */
export async function rotateGrantKey(dir: string, overrides: ContextOverrides = {}): Promise<{ kid: string; previous: string }> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, overrides.env ?? process.env);
  const store = await openStore(paths.dir, config, overrides, 'write');
  try {
    return await hostPipelineFor(paths.dir, store, config, overrides.runtime).run('grant.rotate', systemPrincipal(), {}, 'host');
  } finally {
    await store.close();
  }
}
