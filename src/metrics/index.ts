// Prometheus metrics: one registry per process, who may scrape, and the hooks that feed it.
export { isLoopbackPeer, judgeScrape, loadScrapeAccess, type ScrapeAccess, type ScrapeVerdict } from './access.ts';
export { decisionCounter, instrumentStore } from './instrument.ts';
export { Metrics } from './instruments.ts';
export { modelCallMetrics } from './llm.ts';
export { instrumentOutbox, UNROUTED_CHANNEL } from './outbox.ts';
export { metricsRoutes, serveMetrics } from './route.ts';
