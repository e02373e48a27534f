import { open } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { CountersignError } from '../errors/index.ts';

/** A secret reference as a sandbox profile declares it: never the value (invariant 12). */
export interface SecretRef {
  /** The environment variable the value is injected as, inside the step's sandbox only. */
  readonly name: string;
  /** `env:NAME` (the executor's environment) or `file:/absolute/path`. */
  readonly from: string;
}

/** Secrets are credentials, not data: anything larger is a mistake, not a key. */
const MAX_SECRET_BYTES = 64 * 1024;

export interface SecretSource {
  /** The executor's environment; injectable so tests never touch process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Refuse a file that users other than its owner and group may read or write (server config secrets, like ssh keys). */
  readonly privateFilesOnly?: boolean;
}

function unavailable(ref: SecretRef, why: string, cause?: unknown): CountersignError {
  // The message names the reference, never a value: it is safe for logs and the audit trail.
  return new CountersignError('SECRET_UNAVAILABLE', `secret ${ref.name} (${ref.from}) ${why}`, {
    details: { secret: ref.name, from: ref.from },
    ...(cause === undefined ? {} : { cause }),
  });
}

async function readSecretFile(ref: SecretRef, path: string, privateOnly: boolean): Promise<string> {
  if (!isAbsolute(path)) throw unavailable(ref, 'must name an absolute path');
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw unavailable(ref, 'could not be opened', err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw unavailable(ref, 'is not a regular file');
    if (privateOnly && (info.mode & 0o007) !== 0) {
      throw unavailable(ref, `is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); run chmod o-rwx on it`);
    }
    if (info.size > MAX_SECRET_BYTES) throw unavailable(ref, `is larger than ${MAX_SECRET_BYTES} bytes`);
    const buffer = Buffer.alloc(MAX_SECRET_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_SECRET_BYTES) throw unavailable(ref, `is larger than ${MAX_SECRET_BYTES} bytes`);
    // Files written by `echo` or editors end in one newline that is not part of the secret.
    return buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  } finally {
    await handle.close();
  }
}

/** Reads one secret at step time. A missing or empty value refuses the step (fail closed). */
export async function resolveSecret(ref: SecretRef, source: SecretSource = {}): Promise<string> {
  let value: string | undefined;
  if (ref.from.startsWith('env:')) {
    const name = ref.from.slice('env:'.length);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw unavailable(ref, 'names an invalid environment variable');
    value = (source.env ?? process.env)[name];
    if (value === undefined) throw unavailable(ref, 'is not set in the executor environment');
  } else if (ref.from.startsWith('file:')) {
    value = await readSecretFile(ref, ref.from.slice('file:'.length), source.privateFilesOnly === true);
  } else {
    throw unavailable(ref, 'is not an env: or file: reference');
  }
  if (value.length === 0) throw unavailable(ref, 'is empty');
  if (value.includes('\0')) throw unavailable(ref, 'contains a NUL byte and cannot be passed as an environment variable');
  return value;
}

/** Resolves every reference of a profile into `name -> value`, or refuses the whole step. */
export async function resolveSecrets(refs: readonly SecretRef[], source: SecretSource = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const ref of refs) {
    if (Object.hasOwn(out, ref.name)) throw unavailable(ref, 'is declared twice');
    out[ref.name] = await resolveSecret(ref, source);
  }
  return out;
}
