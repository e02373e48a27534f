/**
 * Runs `f` once, on the first call; later calls get the same promise. Optional SDKs (Slack,
 * Telegram, the model providers) load this way, on first use, not with the server: importing
 * them costs more than the rest of the server, and most installations use few of them.
 */
export function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= f();
    return p;
  };
}
