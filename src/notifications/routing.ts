import type { RouteConfig } from './config.ts';

/** The facts an event is routed on: its kind and, for plans, environment, risk and required groups. */
export interface RouteFacts {
  kind: string;
  environment?: string;
  risk?: string;
  groups: readonly string[];
}

/** The channels an event goes to: the union of every matching route, in first-seen order. Pure. */
export function routeEvent(routes: readonly RouteConfig[], e: RouteFacts): string[] {
  const out = new Set<string>();
  for (const r of routes) {
    if (r.events && !r.events.includes(e.kind as never)) continue;
    if (r.environments && (e.environment === undefined || !r.environments.includes(e.environment))) continue;
    if (r.risks && (e.risk === undefined || !r.risks.includes(e.risk as never))) continue;
    if (r.groups && !r.groups.some((g) => e.groups.includes(g))) continue;
    for (const c of r.channels) out.add(c);
  }
  return [...out];
}
