import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Cuts every proxied connection (both sides reset) and refuses new ones until `heal`. */
  partition(): void;
  heal(): void;
  /** Connections cut so far. */
  cut(): number;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of `target`: a network partition between one process and its
 * database, made on demand (the connections die mid-query, and reconnects fail while it lasts).
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let partitioned = false;
  let cut = 0;
  const server: Server = createServer((client) => {
    if (partitioned) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    partition() {
      partitioned = true;
      for (const s of open) {
        cut++;
        s.resetAndDestroy();
      }
      open.clear();
    },
    heal() {
      partitioned = false;
    },
    cut: () => cut,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
