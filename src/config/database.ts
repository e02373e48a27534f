import { z } from 'zod';

/**
 * The `database:` section of countersign.yaml. `init` records here the store it created — its
 * engine and the installation id it wrote into that store — so every later command opens exactly
 * that store and refuses any other (docs/postgresql.md). A section without `engine` belongs to a
 * data directory made before stores were recorded: it is opened as configured, unchecked.
 */
export const DatabaseConfigSchema = z
  .object({
    /** The engine init created the store with. Absent only in directories made before bindings. */
    engine: z
      .enum(['sqlite', 'postgres'])
      .optional()
      .describe('Written by init: the engine of the store it created. Every command opens that store and refuses another.'),
    /** Random id init wrote into the store and here; a store holding another id is refused. */
    installationId: z
      .string()
      .regex(/^ins_[0-9a-z]{10,40}$/, 'must be the ins_… id written by init')
      .optional()
      .describe('Written by init: the random id also stored in the database; a store holding another id is refused.'),
    /** `postgres://user@host:5432/db`, without a password; empty means the embedded SQLite file `<dir>/countersign.db`. */
    url: z
      .string()
      .default('')
      .describe(
        '`postgres://user@host:5432/db` without a password (init records it); empty means the embedded SQLite file `<dir>/countersign.db`. `--database-url` and COUNTERSIGN_DATABASE_URL may only reach the same store.',
      ),
    /** The PostgreSQL password, only as `${env:NAME}` (a clear password in this file is refused). */
    password: z
      .string()
      .min(1)
      .optional()
      .describe(`The PostgreSQL password, only as \`\${env:NAME}\`: a clear password in the file is refused.`),
    /** A file holding the PostgreSQL password (relative to the data directory, mode 0600). */
    passwordFile: z
      .string()
      .min(1)
      .optional()
      .describe('A file holding the PostgreSQL password, relative to the data directory, mode 0600 (init writes keys/database.password).'),
    sqliteSynchronous: z
      .enum(['full', 'normal'])
      .default('normal')
      .describe(
        'SQLite durability. normal: atomic, an OS crash may lose the last commits; full: every commit synced, several times slower.',
      ),
    maxConnections: z.number().int().min(1).max(200).default(10).describe('PostgreSQL connection pool size per process.'),
  })
  .strict()
  .describe('Where state and the audit log live: the store init created, recorded here.')
  .superRefine((d, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if ((d.engine === undefined) !== (d.installationId === undefined)) {
      issue(d.engine ? 'installationId' : 'engine', 'engine and installationId are written together by init; restore both');
    }
    if (d.engine === 'sqlite' && d.url !== '') issue('url', 'this directory is bound to its embedded SQLite store; a url is not allowed');
    if (d.password !== undefined && d.passwordFile !== undefined) issue('passwordFile', 'give password or passwordFile, not both');
    if ((d.password !== undefined || d.passwordFile !== undefined) && d.engine === 'sqlite') {
      issue('password', 'the embedded SQLite store has no password');
    }
  });

export type DatabaseConfig = z.infer<typeof DatabaseConfigSchema>;

export const DATABASE_CONFIG_DEFAULT: DatabaseConfig = { url: '', sqliteSynchronous: 'normal', maxConnections: 10 };

const ENV_REFERENCE = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;

/**
 * Invariant 12 (secrets never in config in clear), checked on the file as written, before
 * `${env:NAME}` is expanded: a password in `database.url` or `database.password` must be a
 * reference. Returns the problem, or null.
 */
export function clearDatabasePasswordProblem(raw: unknown): string | null {
  if (raw === null || typeof raw !== 'object') return null;
  const database = (raw as { database?: unknown }).database;
  if (database === null || typeof database !== 'object') return null;
  const { url, password } = database as { url?: unknown; password?: unknown };
  if (typeof password === 'string' && !ENV_REFERENCE.test(password)) {
    return `database.password must be a reference such as "\${env:PGPASSWORD}", never the password itself (or use database.passwordFile)`;
  }
  if (typeof url === 'string' && url !== '') {
    const secret = urlPassword(url);
    if (secret !== '' && !ENV_REFERENCE.test(decodeURIComponent(secret))) {
      return `database.url holds a password in clear; remove it from the URL and set database.passwordFile or database.password: "\${env:NAME}"`;
    }
  }
  return null;
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The password part of a URL ('' when none; percent-encoded as written). */
export function urlPassword(url: string): string {
  const u = parseUrl(url);
  if (u) return u.password || (u.searchParams.get('password') ?? '');
  // `${env:…}` inside the user info makes the URL unparsable; treat what sits between ':' and '@' as the password.
  return /^[a-z]+:\/\/[^:/@]*:([^@]*)@/i.exec(url)?.[1] ?? '';
}

/** The URL without its password, for messages, logs and the config file. */
export function withoutPassword(url: string): string {
  const u = parseUrl(url);
  if (!u) return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1@');
  u.password = '';
  u.searchParams.delete('password');
  return u.toString();
}

/** The URL with `password` set (encoded), for the driver only: never printed. */
export function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** What init records for the store it created. */
export interface DatabaseBinding {
  engine: 'sqlite' | 'postgres';
  installationId: string;
  /** postgres only, without a password. */
  url?: string;
  /** `${env:NAME}` reference (postgres only). */
  password?: string;
  /** Relative to the data directory (postgres only). */
  passwordFile?: string;
}

const quote = (s: string) => JSON.stringify(s);

/** The `database:` block of countersign.yaml: unbound defaults, or the store init created. */
export function renderDatabaseYaml(binding?: DatabaseBinding): string {
  const lines = ['database:'];
  if (binding) {
    lines.push(
      '  # Written by `countersign init`: the store this directory was created with. Every command opens',
      '  # this store and refuses another (a different engine or a store holding another installation',
      '  # id). A --database-url or COUNTERSIGN_DATABASE_URL may only reach this same store.',
      `  engine: ${binding.engine}`,
      `  installationId: ${binding.installationId}`,
    );
    if (binding.engine === 'sqlite') lines.push('  # The embedded SQLite store is the file countersign.db in this directory.');
    else {
      lines.push(`  url: ${quote(binding.url ?? '')}`);
      if (binding.passwordFile) lines.push(`  passwordFile: ${quote(binding.passwordFile)}  # mode 0600, never in this file`);
      if (binding.password) lines.push(`  password: ${quote(binding.password)}`);
    }
  } else {
    lines.push(
      '  # Empty = embedded SQLite in this directory; `countersign init --database-url postgres://…`',
      '  # records a PostgreSQL store here (password kept out of this file).',
      '  url: ""',
    );
  }
  lines.push(
    '  # normal: atomic, never corrupts; an OS crash may lose the last commits (a change together with',
    '  # its audit entry). full: every commit synced to disk, several times slower.',
    '  sqliteSynchronous: normal',
    '  maxConnections: 10',
  );
  return `${lines.join('\n')}\n`;
}
