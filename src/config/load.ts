import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CountersignError } from '../errors/index.ts';
import { clearDatabasePasswordProblem, type DatabaseBinding, renderDatabaseYaml } from './database.ts';
import { type Config, ConfigSchema } from './schema.ts';

export const CONFIG_FILE = 'countersign.yaml';

/** A secret is a credential, not data: anything larger is a mistake. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * Reads a `${file:/path}` secret (a mounted Kubernetes or Vault-agent secret, a systemd
 * credential): an absolute path to a regular file that others cannot read or write, as ssh asks
 * of a private key. One trailing newline is not part of the secret.
 */
export function readConfigSecretFile(path: string, where: string): string {
  const refuse = (why: string, cause?: unknown) =>
    new CountersignError('CONFIG_INVALID', `${where}: secret file ${path} ${why}`, cause === undefined ? {} : { cause });
  if (!isAbsolute(path)) throw refuse('must be an absolute path');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw refuse(`cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw refuse('is not a regular file');
    if ((info.mode & 0o007) !== 0) {
      throw refuse(`is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); run chmod o-rwx on it`);
    }
    if (info.size > MAX_SECRET_FILE_BYTES) throw refuse(`is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    const text = readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    if (text.length === 0) throw refuse('is empty');
    return text;
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `${env:NAME}` and `${file:/path}` in string values. An unset variable or unreadable
 * file is an error, never an empty string: a missing database password must not turn into a
 * silent default. Files are read each time the config is (at start and on SIGHUP), so a rotated
 * secret file is picked up by a reload.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{(env|file):([^}]*)\}/g, (_, kind: string, name: string) => {
      const where = path || 'config';
      if (kind === 'file') return readConfigSecretFile(name, where);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        throw new CountersignError('CONFIG_INVALID', `${where}: \${env:${name}} is not a variable name`);
      const v = env[name];
      if (v === undefined) throw new CountersignError('CONFIG_INVALID', `${where}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, path ? `${path}.${k}` : k)]));
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, file = CONFIG_FILE): Readonly<Config> {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const clear = clearDatabasePasswordProblem(raw);
  if (clear) throw new CountersignError('CONFIG_INVALID', `${file}: ${clear}`);
  const parsed = ConfigSchema.safeParse(interpolateEnv(raw, env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CountersignError('CONFIG_INVALID', `${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return deepFreeze(parsed.data);
}

export function loadConfig(dir: string, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const file = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CountersignError(
        'NOT_INITIALIZED',
        `${dir} is not a Countersign data directory; run \`countersign init --dir ${dir}\` first`,
      );
    }
    throw new CountersignError('CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, env, file);
}

/** countersign.yaml as init writes it: every key with its default, and the store init created. */
export function renderConfigYaml(binding?: DatabaseBinding): string {
  return `# Countersign configuration. Every key is optional; shown here with its default.
# Values may reference environment variables as \${env:NAME} and secret files as \${file:/path}
# (an unset variable, or a missing or world-readable file, is an error). SIGHUP re-reads this file:
# see docs/operations.md for what applies at once and what needs a restart.
server:
  host: 127.0.0.1
  port: 7400
  bodyLimitBytes: 1048576
  trustProxy: false
${renderDatabaseYaml(binding)}audit:
  checkpointEvery: 100
plans:
  pendingTtlHours: 72
rateLimit:
  enabled: true
  perPrincipalPerMinute: 6000
  perAddressPerMinute: 12000
# Never true in production: allows unsandboxed execution and unsigned tools, loudly.
developmentMode: false
grants:
  ttlSeconds: 300
executor:
  leaseSeconds: 30
  pollMilliseconds: 500
  retryAttempts: 2
  retryBaseMilliseconds: 500
  workDir: ""
  drainSeconds: 30
# Signed tools: a manifest loads only with K valid signatures (tools/<name>.yaml.sig) from keys
# in the trust store (\`countersign trust add|list|remove\`). K is \`required\`, or the
# environment's own value; never 0. developmentMode alone lets unsigned manifests load, marked.
trust:
  required: 1
  environments: {}                          # e.g. {prod: 2}
  adminTenant: default                      # the tenant whose admins may change the trust store
# Break-glass overrides raise a notification: a JSON POST to this URL (https; http only to
# loopback with developmentMode). A failed delivery is logged; the audit entry is written anyway.
notifications:
  webhookUrl: ""
  timeoutMilliseconds: 5000
# OIDC bearer JWTs (access tokens from your identity provider). Absent = no JWT login at all.
# A token's \`sub\` must name an existing principal of \`tenant\`; unknown subjects are refused.
# oidc:
#   issuer: https://login.example.com/
#   audience: https://countersign.example.com
#   jwksUrl: https://login.example.com/.well-known/jwks.json
#   jwksAllowlist: [login.example.com]      # exact hosts; private/loopback addresses refused
#   algorithms: [EdDSA, ES256, RS256]       # asymmetric only; HS* and none are refused
#   clockSkewSeconds: 30                    # at most 300
#   tenant: default
#   groupsClaim: groups
#   delegatedGroups: []                     # groups the IdP decides (others come from the principal)
#   principalKindClaim: kind                # optional claim that can lower human to agent
#   requiredTokenType: at+jwt               # optional JOSE typ (RFC 9068 access tokens)
#   allowPrivateAddresses: false            # development only: http and loopback JWKS
`;
}

/** The unbound defaults (the file of a directory made before init recorded its store). */
export const DEFAULT_CONFIG_YAML = renderConfigYaml();
