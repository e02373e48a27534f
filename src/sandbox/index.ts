export { BubblewrapRunner, type BubblewrapRunnerOptions, INSTALL_HINT } from './bubblewrap.ts';
export { type CgroupProbe, probeCgroups } from './cgroup-probe.ts';
export { type CgroupDriver, type CgroupLimits, CgroupV1Driver, CgroupV2Driver, type StepCgroup } from './cgroups.ts';
export { checkSandboxHost, type SandboxCheckItem, type SandboxHostReport } from './check.ts';
export { runUnsandboxedForDevelopment, type UnsandboxedDevelopmentOptions, type UnsandboxedRunEvent } from './development.ts';
export { EgressProxy, type EgressProxyOptions } from './egress.ts';
export {
  classifyAddress,
  decideEgress,
  type EgressDecision,
  type EgressDenial,
  type EgressDenialReason,
  type EgressRule,
  parseEgressRules,
  type Resolver,
} from './egress-policy.ts';
export { DEFAULT_HOST_USERS, type HostUserLease, HostUserPool, type HostUserRange } from './host-users.ts';
export { ExecutableVerifier, type VerifiedExecutable } from './integrity.ts';
export { canonicalizePath, canonicalizePathInputs, type PathRoots, pathRootsFor, resolvePathInput } from './paths.ts';
export type { Runner, RunOptions, StepResult, StepSpec } from './runner.ts';
