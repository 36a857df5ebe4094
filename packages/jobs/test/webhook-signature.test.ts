import { describe, expect, it } from 'vitest';
import {
  signWebhook,
  verifyWebhookSignature,
  WebhookSignatureError,
} from '../src/webhook-signature.js';

const secret = 'whsec-0123456789';
const body = '{"id":"conversation:1/2/3","type":"change.offline"}';

function refusal(check: Parameters<typeof verifyWebhookSignature>[0]): string {
  try {
    verifyWebhookSignature(check);
  } catch (error) {
    if (error instanceof WebhookSignatureError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('webhook signatures', () => {
  it('accepts the body it signed, at the time it signed, and returns the timestamp', () => {
    const header = signWebhook(secret, body, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ secret, header, body, nowSeconds: 1_700_000_100 })).toBe(
      1_700_000_000,
    );
  });

  it('refuses another body, another secret, an old timestamp and a malformed header', () => {
    const header = signWebhook(secret, body, 1_700_000_000);
    const now = 1_700_000_000;
    expect(refusal({ secret, header, body: `${body} `, nowSeconds: now })).toBe('bad_signature');
    expect(refusal({ secret: `${secret}x`, header, body, nowSeconds: now })).toBe('bad_signature');
    expect(refusal({ secret, header, body, nowSeconds: now + 301 })).toBe('stale_signature');
    expect(refusal({ secret, header, body, nowSeconds: now + 60, toleranceSeconds: 30 })).toBe(
      'stale_signature',
    );
    // The timestamp is signed: moving it breaks the signature.
    const moved = header.replace('t=1700000000', 't=1700000300');
    expect(refusal({ secret, header: moved, body, nowSeconds: now + 300 })).toBe('bad_signature');
    expect(refusal({ secret, header: undefined, body })).toBe('malformed_signature');
    expect(refusal({ secret, header: 'v1=abc', body })).toBe('malformed_signature');
  });
});
