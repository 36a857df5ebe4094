import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header with `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const WEBHOOK_SIGNATURE_HEADER = 'ccs-signature';
/** Header with the notification's id: the same on every retry, for the receiver to de-duplicate. */
export const WEBHOOK_ID_HEADER = 'ccs-webhook-id';

/** Why {@link verifyWebhookSignature} refused a request. */
export type WebhookSignatureErrorCode = 'malformed_signature' | 'bad_signature' | 'stale_signature';

/** Thrown by {@link verifyWebhookSignature}. */
export class WebhookSignatureError extends Error {
  override readonly name = 'WebhookSignatureError';
  constructor(
    readonly code: WebhookSignatureErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const hmac = (secret: string, timestamp: number, body: string): Buffer =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();

/** The {@link WEBHOOK_SIGNATURE_HEADER} value of `body` sent at `timestampSeconds`. */
export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body).toString('hex')}`;
}

/** What {@link verifyWebhookSignature} checks. */
export interface WebhookVerification {
  readonly secret: string;
  /** The {@link WEBHOOK_SIGNATURE_HEADER} as received. */
  readonly header: string | undefined;
  /** The raw body as received (not re-serialised JSON). */
  readonly body: string;
  /** Signatures older (or newer) than this are refused, against replays. @default 300 */
  readonly toleranceSeconds?: number;
  /** @default the current time */
  readonly nowSeconds?: number;
}

/**
 * Checks a notification the way a receiver should: the HMAC over the timestamp and the raw body,
 * compared in constant time, and the timestamp within a tolerance. Returns the timestamp.
 *
 * @example
 * verifyWebhookSignature({ secret, header: req.headers['ccs-signature'], body: rawBody });
 */
export function verifyWebhookSignature(check: WebhookVerification): number {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(check.header ?? '');
  if (!match) {
    throw new WebhookSignatureError(
      'malformed_signature',
      `expected "${WEBHOOK_SIGNATURE_HEADER}: t=<unix seconds>,v1=<64 hex digits>"`,
    );
  }
  const timestamp = Number(match[1]);
  const expected = hmac(check.secret, timestamp, check.body);
  if (!timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) {
    throw new WebhookSignatureError('bad_signature', 'the signature does not match the body');
  }
  const now = check.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = check.toleranceSeconds ?? 300;
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookSignatureError(
      'stale_signature',
      `signed ${now - timestamp} s from now, beyond the ${tolerance} s tolerance`,
    );
  }
  return timestamp;
}
