import { appendFileSync } from 'node:fs';
import { AuditTreeBuilder, checkpointOf, type MerkleTree, signCheckpoint } from '../audit/index.ts';
import { loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { type PreparedCheckpoint, systemPrincipal } from '../operations/index.ts';
import { type PolicyUpgradeReport, upgradeBaselinePolicies } from '../policy/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import { submitCheckpoint, type WitnessEndpoint, witnessName } from '../witness/index.ts';
import { auditNoteSigner } from './audit-signer.ts';
import type { ContextOverrides } from './context.ts';
import { dataDirPaths } from './datadir.ts';
import { baselineAuthorizer, hostPipelineFor, localOperator } from './host.ts';
import { openStore } from './store-binding.ts';

type HostOptions = Pick<ContextOverrides, 'databaseUrl' | 'env' | 'runtime'>;

/**
 * `countersign policy upgrade` as the `policy.upgrade` host operation: checked in a scratch copy,
 * decided, audited, then written. Decided by the release's baseline policies: the directory's
 * own set is the one being upgraded and may not know the action yet.
 */
export async function upgradePolicies(dir: string, options: HostOptions = {}): Promise<PolicyUpgradeReport> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  const store = await openStore(paths.dir, config, options, 'write');
  try {
    const pipeline = hostPipelineFor(paths.dir, store, config, options.runtime ?? systemRuntime, baselineAuthorizer(), undefined, {
      policyUpgrader: {
        preview: () => upgradeBaselinePolicies(paths.dir, { dryRun: true }),
        apply: () => upgradeBaselinePolicies(paths.dir),
      },
    });
    return await pipeline.run<PolicyUpgradeReport>('policy.upgrade', systemPrincipal(), { operator: localOperator() }, 'host');
  } finally {
    await store.close();
  }
}

export interface CheckpointReport {
  size: number;
  root: string;
  origin: string;
  /** The note as appended to the file: the log's signature, then any witness cosignatures. */
  note: string;
  cosigned: number;
  refused: string[];
  file: string;
}

/**
 * `countersign audit checkpoint` as the `audit.checkpoint` host operation: the tree of the whole
 * log is built and its head signed first; once the decision is recorded the note is appended to
 * `<dir>/audit-checkpoints` and handed to each witness, and the cosigned note is appended too.
 */
export async function checkpointAudit(
  dir: string,
  witnesses: readonly WitnessEndpoint[],
  options: HostOptions & { runtime?: Runtime } = {},
): Promise<CheckpointReport> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  const store = await openStore(paths.dir, config, options, 'write');
  try {
    const make = async (): Promise<PreparedCheckpoint<CheckpointReport>> => {
      const builder = new AuditTreeBuilder();
      try {
        for await (const e of store.iterateAuditForVerification()) builder.add(e);
      } catch (err) {
        throw new CountersignError('AUDIT_CHAIN_BROKEN', (err as Error).message);
      }
      if (builder.size === 0) throw new CountersignError('NOT_FOUND', 'the audit log is empty: nothing to checkpoint');
      const tree: MerkleTree = builder.tree;
      const signed = signCheckpoint(tree, builder.size, auditNoteSigner(paths.dir, config));
      const body = checkpointOf(signed);
      return {
        size: body.size,
        root: body.root.toString('base64'),
        publish: async () => {
          appendFileSync(paths.checkpoints, `${signed}\n`, { mode: 0o600 });
          let note = signed;
          const refused: string[] = [];
          const cosignedBy: string[] = [];
          for (const w of witnesses) {
            try {
              note += await submitCheckpoint(tree, signed, w);
              cosignedBy.push(witnessName(w));
            } catch (err) {
              refused.push(`${w.url}: ${(err as Error).message}`);
            }
          }
          // The cosigned note goes into the file too: proofs made from it carry the cosignatures.
          if (note !== signed) appendFileSync(paths.checkpoints, `${note}\n`, { mode: 0o600 });
          return {
            size: body.size,
            root: body.root.toString('base64'),
            origin: body.origin,
            note,
            cosigned: cosignedBy.length,
            refused,
            file: paths.checkpoints,
            details: { root: body.root.toString('base64'), cosignedBy, refused },
          };
        },
      };
    };
    const pipeline = hostPipelineFor(paths.dir, store, config, options.runtime ?? systemRuntime, undefined, undefined, {
      checkpoint: make,
    });
    const { details: _details, ...report } = await pipeline.run<CheckpointReport & { details: unknown }>(
      'audit.checkpoint',
      systemPrincipal(),
      { operator: localOperator() },
      'host',
    );
    return report;
  } finally {
    await store.close();
  }
}
