import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/index.ts';
import { createGrantKey } from '../grants/index.ts';
import type { ContextOverrides } from './context.ts';
import { dataDirPaths } from './datadir.ts';
import { openStore } from './store-binding.ts';

/** Adds a grant signing key and makes it current; the rotation is audited. */
export async function rotateGrantKey(dir: string, overrides: ContextOverrides = {}): Promise<{ kid: string; previous: string }> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, overrides.env ?? process.env);
  const previous = readFileSync(join(paths.keys, 'grant-current'), 'utf8').trim();
  const store = await openStore(paths.dir, config, overrides, 'write');
  try {
    // Audit before effect: the entry is written first; if it fails, no key changes.
    await store
      .scope('-')
      .audit({ actor: 'operator:local', action: 'grant.rotate', outcome: 'allowed', resource: 'grant-keys', details: { previous } });
    const kid = createGrantKey(paths.keys);
    await store.scope('-').audit({
      actor: 'operator:local',
      action: 'grant.rotate',
      outcome: 'succeeded',
      resource: `grant-key:${kid}`,
      details: { previous },
    });
    return { kid, previous };
  } finally {
    await store.close();
  }
}
