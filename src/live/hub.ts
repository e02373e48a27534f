import { EventEmitter } from 'node:events';

/**
 * What an open event stream listens to: "an event of this execution may have been written" and
 * "a credential or permission changed"; and what the preview attacher listens to: "preview
 * results are ready". Fed by PostgreSQL notifications (any replica, any executor) and by this
 * process's own operations. A signal is a hint to look again, never data:
 * a stream always reads and authorizes through the pipeline.
 */
export class LiveHub {
  readonly #events = new EventEmitter();
  #connected: () => boolean;

  constructor(connected: () => boolean = () => false) {
    this.#connected = connected;
    // One listener per open stream: the default cap of 10 would warn at the eleventh.
    this.#events.setMaxListeners(0);
  }

  /** Whether notifications from other processes arrive now; when not, streams poll. */
  get connected(): boolean {
    return this.#connected();
  }

  setConnectedProbe(probe: () => boolean): void {
    this.#connected = probe;
  }

  eventWritten(executionId: string): void {
    this.#events.emit(`event:${executionId}`);
  }

  authChanged(): void {
    this.#events.emit('auth');
  }

  onEvents(executionId: string, listener: () => void): () => void {
    this.#events.on(`event:${executionId}`, listener);
    return () => this.#events.off(`event:${executionId}`, listener);
  }

  onAuthChange(listener: () => void): () => void {
    this.#events.on('auth', listener);
    return () => this.#events.off('auth', listener);
  }

  /** Some plan's preview results are stored and wait to be attached (or may be, after a reconnect). */
  previewReady(): void {
    this.#events.emit('preview');
  }

  onPreviewReady(listener: () => void): () => void {
    this.#events.on('preview', listener);
    return () => this.#events.off('preview', listener);
  }
}

/** Operations whose success can end a subscription (credential or group changes). */
export const AUTH_CHANGING_OPERATIONS: ReadonlySet<string> = new Set(['key.revoke', 'principal.disable']);
