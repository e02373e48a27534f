import { CountersignError } from '../errors/index.ts';
import type { StepSpec } from './runner.ts';

export const STEP_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checked(kind: string, name: string, value: string): void {
  if (!NAME.test(name))
    throw new CountersignError('VALIDATION_FAILED', `${kind} name ${JSON.stringify(name)} is not a valid environment variable name`);
  // NUL would cut the value short (and split bubblewrap's argument stream): refuse, never truncate.
  if (value.includes('\0')) throw new CountersignError('VALIDATION_FAILED', `${kind} ${name} contains a NUL byte`);
}

/**
 * The whole environment of a step (invariant 12): nothing is inherited from the executor. Fixed
 * variables first, then the profile's, then the step's secrets, then — last, so nothing can point
 * them elsewhere — the runner's own (the egress proxy variables).
 */
export function stepEnvironment(spec: StepSpec, runnerOwn: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: STEP_PATH, HOME: spec.workDir, LANG: 'C.UTF-8' };
  for (const [name, value] of Object.entries(spec.profile.env)) {
    checked('profile variable', name, value);
    env[name] = value;
  }
  for (const [name, value] of Object.entries(spec.secrets)) {
    checked('secret', name, value);
    env[name] = value;
  }
  for (const [name, value] of Object.entries(runnerOwn)) {
    checked('runner variable', name, value);
    env[name] = value;
  }
  return env;
}

/** The proxy variables every common HTTP client reads, both spellings. */
export function proxyEnvironment(url: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) {
    env[name] = url;
    env[name.toLowerCase()] = url;
  }
  env.NO_PROXY = '';
  env.no_proxy = '';
  return env;
}
