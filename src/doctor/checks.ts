import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { auditPublicKeysIn, type Checkpoint, verifyAuditChain } from '../audit/index.ts';
import type { Config } from '../config/index.ts';
import { ERROR_CODES } from '../errors/index.ts';
import { jwksUrlProblem } from '../jwt-policy/index.ts';
import { CANARIES, checkCanaries, loadCedarAuthorizer, type PrivilegedAction, policiesPath, splitPolicyFile } from '../policy/index.ts';
import type { SandboxHostReport } from '../sandbox/index.ts';
import type { DataDirPaths } from '../server/index.ts';
import type { Store } from '../store/index.ts';
import { loadToolDir } from '../tools/index.ts';
import { loadThreshold, requiredSignatures, TrustedKeyCache } from '../trust/index.ts';

export type DoctorResult = 'PASS' | 'FAIL' | 'NOTE';

export interface DoctorCheck {
  control: string;
  result: DoctorResult;
  evidence: string;
}

const pass = (control: string, evidence: string): DoctorCheck => ({ control, result: 'PASS', evidence });
const fail = (control: string, evidence: string): DoctorCheck => ({ control, result: 'FAIL', evidence });
const note = (control: string, evidence: string): DoctorCheck => ({ control, result: 'NOTE', evidence });

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Invariant 1: the policy set loads, denies every canary, and a principal with no role gets nothing. */
export function checkPolicy(dir: string): DoctorCheck {
  const control = 'Policy: deny by default, baseline guardrails, canaries';
  try {
    const authz = loadCedarAuthorizer(dir);
    const canaries = checkCanaries(authz);
    if (!canaries.ok) return fail(control, `canaries allowed: ${canaries.failed.join(', ')}`);
    const probes: PrivilegedAction[] = ['plan.propose', 'plan.execute', 'override.issue', 'trust.change', 'audit.read'];
    const allowed = probes.filter((action) => {
      const resource =
        action === 'override.issue'
          ? { type: 'Environment' as const, id: 'prod', tenantId: 'doctor', environment: 'prod' }
          : action === 'plan.execute'
            ? { type: 'Plan' as const, id: 'doctor-plan', tenantId: 'doctor', environment: 'prod', risk: 'high' as const }
            : { type: 'Tenant' as const, id: 'doctor', tenantId: 'doctor' };
      const d = authz.authorize({
        principal: { tenantId: 'doctor', id: 'doctor-nobody', name: 'nobody', kind: 'human', groups: [], authMethod: 'api_key' },
        action,
        resource,
      });
      return d.allow;
    });
    if (allowed.length > 0) return fail(control, `a principal with no group is allowed: ${allowed.join(', ')} (no deny by default)`);
    return pass(
      control,
      `${authz.policyIds.length} policies load and validate; all ${CANARIES.length} canaries denied; a principal with no group is denied ${probes.join(', ')}`,
    );
  } catch (err) {
    return fail(control, unloadablePolicyEvidence(dir, err));
  }
}

/**
 * Why the policy set does not load, naming every file that does not parse (the loader stops at
 * the first), and what that means for a server: it is the same set a start or a SIGHUP would read.
 */
function unloadablePolicyEvidence(dataDir: string, err: unknown): string {
  const dir = policiesPath(dataDir);
  const broken: string[] = [];
  try {
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith('.cedar'))
      .sort()) {
      try {
        splitPolicyFile(name, readFileSync(join(dir, name), 'utf8'));
      } catch (e) {
        broken.push(`${join(dir, name)}: ${message(e).replace(`${name}: `, '')}`);
      }
    }
  } catch {
    // An unreadable directory: the loader's own message below says so.
  }
  const what = broken.length > 0 ? `policy files that do not parse: ${broken.join('; ')}` : `the policy set does not load: ${message(err)}`;
  const exit = ERROR_CODES.CONFIG_INVALID.exit;
  return `${what}. A server started with this set exits (CONFIG_INVALID, exit ${exit}); a running server sent SIGHUP refuses it and keeps serving its previous set. Fix it, check with \`countersign policy validate\`, then start or send SIGHUP.`;
}

/** Invariant 9: sandbox or nothing. */
export function checkSandbox(report: SandboxHostReport, config: Readonly<Config>): DoctorCheck {
  const control = 'Sandbox available and enforced';
  const bad = report.items.filter((i) => !i.ok);
  if (!report.ok) return fail(control, `not available: ${bad.map((i) => `${i.name}: ${i.detail}`).join('; ')}`);
  const cg = report.cgroupVersion ? `cgroup ${report.cgroupVersion} limits` : 'rlimits only (no usable cgroups)';
  if (config.developmentMode) {
    return fail(control, `available but NOT enforced: developmentMode runs steps unsandboxed (${cg})`);
  }
  const bw = report.items.find((i) => i.name === 'bubblewrap')?.detail ?? 'bubblewrap';
  const seccomp = report.items.find((i) => i.name.startsWith('seccomp'))?.detail ?? 'seccomp filter';
  const notes = bad.length > 0 ? `; notes: ${bad.map((i) => i.name).join(', ')}` : '';
  return pass(control, `${bw}; user namespaces, prlimit, per-step disk budget; seccomp: ${seccomp}; ${cg}${notes}`);
}

/** Invariant 15: no JWKS, no JWT login; a configured JWKS is https on an exact allowlist. */
export function checkJwks(config: Readonly<Config>): DoctorCheck {
  const control = 'OIDC JWKS allowlisted';
  const oidc = config.oidc;
  if (!oidc) return note(control, 'OIDC not configured: no JWT login (API keys only)');
  const problem = jwksUrlProblem(oidc.jwksUrl, { allowlist: oidc.jwksAllowlist, allowPrivateAddresses: oidc.allowPrivateAddresses });
  if (problem) return fail(control, `${oidc.jwksUrl}: ${problem}`);
  if (oidc.allowPrivateAddresses) return fail(control, `oidc.allowPrivateAddresses is true (development only): ${oidc.jwksUrl}`);
  return pass(control, `${oidc.jwksUrl} (https) on allowlist [${oidc.jwksAllowlist.join(', ')}]; algorithms ${oidc.algorithms.join(', ')}`);
}

/** Invariant 11: the hash chain verifies, and the last signed checkpoint is recent. */
export async function checkAudit(store: Store, paths: DataDirPaths, now: Date): Promise<DoctorCheck[]> {
  const intact = 'Audit chain intact';
  const age = 'Audit: last signed checkpoint';
  let checkpoints: Checkpoint[];
  try {
    checkpoints = await store.listAuditCheckpoints();
    const report = await verifyAuditChain({
      segments: await store.auditVerificationSegments(),
      checkpoints,
      head: await store.auditHead(),
      publicKeys: auditPublicKeysIn(paths.keys),
    });
    if (!report.ok) {
      return [
        fail(intact, `FAILED at seq ${report.firstBadSeq} (${report.problem}): ${report.message}`),
        note(age, 'not judged: the chain is broken'),
      ];
    }
    const head = await store.auditHead();
    const last = report.lastCheckpoint;
    const checks = [pass(intact, `verified: ${report.message}`)];
    if (!last) {
      checks.push(report.entries > 0 ? fail(age, 'no signed checkpoint: a truncated tail would go unnoticed') : note(age, 'empty log'));
      return checks;
    }
    const hours = (now.getTime() - Date.parse(last.ts)) / 3_600_000;
    const behind = (head?.seq ?? last.seq) - last.seq;
    const evidence = `seq ${last.seq} at ${last.ts} (${hours < 1 ? `${Math.round(hours * 60)} min` : `${hours.toFixed(1)} h`} ago); ${behind} entries since`;
    checks.push(
      hours <= 24
        ? pass(age, evidence)
        : note(age, `${evidence}: older than 24 h (an idle installation, or checkpoints are not being written)`),
    );
    return checks;
  } catch (err) {
    return [fail(intact, `cannot read the audit log: ${message(err)}`), note(age, 'not judged')];
  }
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Keys are present and readable by their owner only (a world- or group-readable key has leaked). */
export function checkKeys(paths: DataDirPaths): DoctorCheck {
  const control = 'Keys present and private (grant, audit, override, publisher)';
  const problems: string[] = [];
  const seen: string[] = [];
  const dirMode = modeOf(paths.keys);
  if ((dirMode & 0o077) !== 0) problems.push(`keys/ is mode ${dirMode.toString(8)} (want 700)`);
  const privateFiles = readdirSync(paths.keys).filter((n) => n.endsWith('.key') || n === 'grant-current');
  const require = (name: string, what: string) => {
    if (!existsSync(join(paths.keys, name))) problems.push(`${what} key ${name} is missing`);
  };
  require('audit.key', 'audit');
  const currentFile = join(paths.keys, 'grant-current');
  if (existsSync(currentFile)) require(`grant-${readFileSync(currentFile, 'utf8').trim()}.key`, 'grant signing');
  else problems.push('grant-current is missing: no grant signing key');
  for (const name of privateFiles) {
    const mode = modeOf(join(paths.keys, name));
    if ((mode & 0o077) !== 0) problems.push(`${name} is mode ${mode.toString(8)} (readable beyond its owner; want 600)`);
    else seen.push(name);
  }
  const overrideMissing = !existsSync(join(paths.keys, 'override.key'));
  if (problems.length > 0) return fail(control, problems.join('; '));
  const ok = `${seen.length} private key files, each mode 600 in a 700 directory: ${seen.join(', ')}`;
  return overrideMissing ? note(control, `${ok}; no override key yet (the API creates it at its next start)`) : pass(control, ok);
}

/** The development switches: each one off, or named. */
export function checkDevelopmentSwitches(config: Readonly<Config>): DoctorCheck {
  const control = 'Development switches off';
  const on: string[] = [];
  if (config.developmentMode) on.push('developmentMode: true (unsandboxed steps, unsigned tools, http loopback webhooks)');
  if (config.oidc?.allowPrivateAddresses) on.push('oidc.allowPrivateAddresses: true');
  if (on.length > 0) return fail(control, on.join('; '));
  return pass(control, `developmentMode: false${config.oidc ? '; oidc.allowPrivateAddresses: false' : ''}`);
}

/**
 * Invariant 13: every manifest verifies against the trust store as production would load it
 * (development mode off). One that loads only because of development mode, or is refused
 * outright, is a FAIL with its reason.
 */
export async function checkTools(store: Store, paths: DataDirPaths, config: Readonly<Config>): Promise<DoctorCheck[]> {
  const tools = 'Signed tools only (no unsigned or badly signed manifests)';
  const trust = 'Trust store and K-of-N policy';
  try {
    const keys = await new TrustedKeyCache().current(store.scope('-').installationTrust);
    const registry = loadToolDir(paths.tools, { keys, required: loadThreshold(config.trust), developmentMode: false });
    const envs = Object.entries(config.trust.environments).map(([e, k]) => `${e}: ${k}`);
    const policy = `K = ${config.trust.required}${envs.length > 0 ? ` (${envs.join(', ')})` : ''}`;
    const maxK = Math.max(config.trust.required, ...Object.values(config.trust.environments));
    // A trusted key whose private half sits in keys/ (init's local publisher key) means that
    // whoever can read the data directory can publish tools: fine to start, worth a reviewer's note.
    const local = [...keys.keys()].filter((id) => existsSync(join(paths.keys, `publisher-${id}.key`)));
    const listed = `${keys.size} trusted publisher key(s): ${[...keys.keys()].join(', ') || '-'}; ${policy}`;
    const trustCheck =
      keys.size < maxK
        ? note(
            trust,
            `${keys.size} trusted publisher key(s) but an environment requires ${maxK} signatures: its tools cannot run; ${policy}`,
          )
        : local.length > 0
          ? note(
              trust,
              `${listed}; the private key of ${local.join(', ')} is in ${paths.keys} (init's local publisher key): whoever can read the data directory can publish tools — for production, sign with an offline key and \`countersign trust remove\` it`,
            )
          : pass(trust, listed);
    const refused = registry.refused();
    if (refused.length > 0) {
      const devOnly = config.developmentMode ? ' — developmentMode lets the unsigned ones load' : ' — refused at load';
      return [fail(tools, `${refused.map((r) => `${r.file}: ${r.reason}`).join('; ')}${devOnly}`), trustCheck];
    }
    const loaded = registry.list();
    const short = loaded.flatMap((t) =>
      Object.keys(config.trust.environments)
        .filter((e) => t.signers.length < requiredSignatures(config.trust, e))
        .map((e) => `${t.manifest.name} in ${e}`),
    );
    const signed = loaded.map((t) => `${t.manifest.name} (${t.signers.join('+')})`).join(', ');
    const evidence = `${loaded.length} manifest(s), each with valid signatures from trusted keys: ${signed || 'none'}`;
    return [short.length > 0 ? note(tools, `${evidence}; too few signatures for: ${short.join(', ')}`) : pass(tools, evidence), trustCheck];
  } catch (err) {
    return [fail(tools, `the tools cannot be verified: ${message(err)}`), note(trust, 'not judged')];
  }
}

/** Invariant 17. */
export function checkRateLimits(config: Readonly<Config>): DoctorCheck {
  const control = 'Rate limits on';
  const r = config.rateLimit;
  if (!r.enabled) return fail(control, 'rateLimit.enabled: false');
  return pass(control, `per principal ${r.perPrincipalPerMinute}/min, per address ${r.perAddressPerMinute}/min`);
}

/**
 * Approvals that need a security-key step-up can be given: only the console asks for one, so with
 * the console off and step-up on for some risk, plans at that risk can never be approved.
 */
export function checkStepUp(config: Readonly<Config>): DoctorCheck {
  const control = 'Step-up approvals can be given';
  const { stepUp, enabled } = config.console;
  const scoped = Object.entries(stepUp.environments).filter(([, risks]) => risks.length > 0);
  const where = [
    ...(stepUp.risks.length > 0 ? [`${stepUp.risks.join(', ')} risk`] : []),
    ...scoped.map(([env, risks]) => `${risks.join(', ')} risk in ${env}`),
  ];
  if (where.length === 0) return note(control, 'console.stepUp is off for every risk: no approval needs a security key');
  if (!enabled) {
    return fail(
      control,
      `console.enabled: false, but approving plans of ${where.join('; ')} needs a security-key step-up, which only the console asks for: those plans can never be approved. Enable the console, or change console.stepUp`,
    );
  }
  return pass(control, `the console asks for a security key to approve plans of ${where.join('; ')}`);
}

/** Invariant 14: break-glass events reach people, not only the log. */
export function checkNotifications(config: Readonly<Config>): DoctorCheck {
  const control = 'Break-glass notifications';
  const url = config.notifications.webhookUrl;
  if (!url) return note(control, 'no webhook configured: overrides are audited (details.breakGlass) and logged, nobody is paged');
  return pass(control, `webhook ${new URL(url).origin} (${new URL(url).protocol.replace(':', '')})`);
}
