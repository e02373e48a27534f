import { CountersignClient } from '../client/index.ts';

export interface RemoteOptions {
  server?: string;
  token?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:7400';

/** The client for remote commands: --server/--token, else COUNTERSIGN_SERVER/COUNTERSIGN_TOKEN. */
export function clientFrom(opts: RemoteOptions, env: NodeJS.ProcessEnv = process.env): CountersignClient {
  return new CountersignClient({
    server: opts.server ?? env.COUNTERSIGN_SERVER ?? DEFAULT_SERVER,
    token: opts.token ?? env.COUNTERSIGN_TOKEN,
    // The audit trail names the interface a change came through (a label, never a credential).
    clientName: 'cli',
  });
}
