import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, explain } from '../api.ts';

/** Loads `path` and re-loads when `key` changes; errors become a readable message. */
export function useData<T>(path: string | null, key: unknown[] = []): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    api
      .get<T>(path)
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((err) => {
        if (live) setError(explain(err));
      });
    return () => {
      live = false;
    };
  }, [path, tick, ...key]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

export function Heading({ children }: { children: ComponentChildren }) {
  return <h1 tabIndex={-1}>{children}</h1>;
}

export function Problem({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p class="problem" role="alert">
      {message}
    </p>
  );
}

export function RiskBadge({ risk }: { risk: string }) {
  return <span class={`badge risk-${risk}`}>{risk}</span>;
}

export function Status({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status.replaceAll('_', ' ')}</span>;
}

export function Hash({ value }: { value: string }) {
  return <code class="hash">{value}</code>;
}
