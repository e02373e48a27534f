import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookSourceConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';

/** What a verified delivery proves about itself: the id a replay would repeat, when it has one. */
export interface VerifiedDelivery {
  /** Stored per source; a second delivery with the same id is a replay. Null: the source sends none. */
  deliveryId: string | null;
}

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Headers of the generic signed form (docs/alerts.md). */
export const HMAC_HEADERS = {
  timestamp: 'x-countersign-timestamp',
  delivery: 'x-countersign-delivery',
  signature: 'x-countersign-signature',
} as const;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function invalid(why: string): CountersignError {
  return new CountersignError('WEBHOOK_SIGNATURE_INVALID', 'the delivery signature does not verify', { details: { reason: why } });
}

function hmacHex(secret: string, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac('sha256', secret);
  for (const p of parts) mac.update(p);
  return mac.digest();
}

/** Constant time over the whole candidate set: every pair is compared, so timing says nothing. */
function anyMatches(candidates: readonly string[], expected: readonly Buffer[]): boolean {
  let ok = false;
  for (const c of candidates) {
    if (!/^[0-9a-f]{64}$/i.test(c)) continue;
    const given = Buffer.from(c, 'hex');
    for (const e of expected) ok = timingSafeEqual(given, e) || ok;
  }
  return ok;
}

/** `v1=<hex>` entries of a signature header (PagerDuty and the generic form send several during a rotation). */
function v1Signatures(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => s.slice(3))
    .slice(0, 8);
}

function checkFresh(at: number, now: Date, toleranceSeconds: number): void {
  if (!Number.isFinite(at)) throw invalid('the signed timestamp is missing or not a time');
  if (Math.abs(now.getTime() - at) > toleranceSeconds * 1000) {
    throw new CountersignError('WEBHOOK_STALE', `the delivery was signed outside the ${toleranceSeconds} s replay window`, {
      details: { reason: 'stale', signedAt: new Date(at).toISOString() },
    });
  }
}

function unixSeconds(value: string | undefined): number {
  return value && /^\d{1,12}$/.test(value) ? Number(value) * 1000 : Number.NaN;
}

/**
 * Verifies one delivery against its source's secrets (the current one and, during a rotation,
 * the previous), in constant time, and checks its signed timestamp against the replay window.
 * `body` is the raw bytes as received: every scheme signs those, never a re-serialization.
 */
export function verifyDelivery(
  source: Pick<WebhookSourceConfig, 'type' | 'toleranceSeconds' | 'signatureHeader' | 'timestampHeader'>,
  secrets: readonly string[],
  headers: Headers,
  body: Buffer,
  now: Date,
): VerifiedDelivery {
  switch (source.type) {
    case 'alertmanager': {
      // Alertmanager signs nothing: its http_config sends a bearer credential. Compared as
      // digests so the lengths match and the comparison is constant time.
      const auth = header(headers, 'authorization') ?? '';
      const m = /^Bearer (.+)$/.exec(auth);
      if (!m?.[1]) throw invalid('no bearer credential');
      const given = createHash('sha256').update(m[1]).digest();
      let ok = false;
      for (const s of secrets) ok = timingSafeEqual(given, createHash('sha256').update(s).digest()) || ok;
      if (!ok) throw invalid('the bearer credential matches no secret of this source');
      return { deliveryId: null };
    }
    case 'grafana': {
      const signature = header(headers, source.signatureHeader);
      const stamp = header(headers, source.timestampHeader);
      if (!signature || !stamp) throw invalid(`${source.signatureHeader} and ${source.timestampHeader} are required`);
      if (
        !anyMatches(
          [signature],
          secrets.map((s) => hmacHex(s, stamp, ':', body)),
        )
      )
        throw invalid('no secret of this source made it');
      checkFresh(unixSeconds(stamp), now, source.toleranceSeconds);
      // Grafana sends no delivery id: the signature over timestamp and body is unique to one delivery.
      return { deliveryId: `sig:${signature.toLowerCase()}` };
    }
    case 'pagerduty': {
      const given = v1Signatures(header(headers, 'x-pagerduty-signature'));
      if (given.length === 0) throw invalid('X-PagerDuty-Signature carries no v1 signature');
      if (
        !anyMatches(
          given,
          secrets.map((s) => hmacHex(s, body)),
        )
      )
        throw invalid('no signature matches a secret of this source');
      // Only now is the body trusted enough to read its event id and time.
      let event: { id?: unknown; occurred_at?: unknown } | undefined;
      try {
        event = (JSON.parse(body.toString('utf8')) as { event?: typeof event }).event;
      } catch {
        throw new CountersignError('INVALID_JSON', 'the body is not valid JSON');
      }
      if (typeof event?.id !== 'string' || typeof event.occurred_at !== 'string') {
        throw new CountersignError('VALIDATION_FAILED', 'payload: event.id and event.occurred_at are required');
      }
      checkFresh(Date.parse(event.occurred_at), now, source.toleranceSeconds);
      return { deliveryId: event.id.slice(0, 128) };
    }
    case 'hmac': {
      const stamp = header(headers, HMAC_HEADERS.timestamp);
      const delivery = header(headers, HMAC_HEADERS.delivery);
      const given = v1Signatures(header(headers, HMAC_HEADERS.signature));
      if (!stamp || !delivery || given.length === 0) {
        throw invalid(`${HMAC_HEADERS.timestamp}, ${HMAC_HEADERS.delivery} and ${HMAC_HEADERS.signature} (v1=<hex>) are required`);
      }
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(delivery)) throw invalid('the delivery id is not 1-128 of A-Z a-z 0-9 . _ : -');
      if (
        !anyMatches(
          given,
          secrets.map((s) => hmacHex(s, stamp, '.', delivery, '.', body)),
        )
      ) {
        throw invalid('no signature matches a secret of this source');
      }
      checkFresh(unixSeconds(stamp), now, source.toleranceSeconds);
      return { deliveryId: delivery };
    }
  }
}

/** Signs a delivery in the generic form (the CLI's test sender, tests and the bench). */
export function signGenericDelivery(secret: string, timestamp: number, delivery: string, body: string): Record<string, string> {
  const stamp = String(Math.floor(timestamp / 1000));
  return {
    [HMAC_HEADERS.timestamp]: stamp,
    [HMAC_HEADERS.delivery]: delivery,
    [HMAC_HEADERS.signature]: `v1=${hmacHex(secret, stamp, '.', delivery, '.', body).toString('hex')}`,
  };
}
