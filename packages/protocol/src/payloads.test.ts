import { describe, expect, it } from 'vitest';
import {
  MAX_ENCODED_SEND_BYTES,
  MAX_FRAME_BYTES,
  messageSendPayloadSchema,
  subscribePayloadSchema,
} from './payloads.js';
import { parseStreamName, streamName } from './streams.js';
import { changesReceivedPayloadSchema, MAX_RECEIVED_STREAMS } from './received-payloads.js';

const id = '0b6d4c1e-8a43-4d4e-9a3b-2f1d8c7e6a5b';

describe('subscribePayloadSchema', () => {
  it('accepts a conversation stream with since', () => {
    expect(subscribePayloadSchema.parse({ stream: `conversation:${id}`, since: 3 })).toEqual({
      stream: `conversation:${id}`,
      since: 3,
    });
  });

  it.each([
    ['an unknown kind', { stream: `room:${id}` }],
    ['a non-uuid id', { stream: 'conversation:42' }],
    ['an extra segment', { stream: `conversation:${id}:x` }],
    ['a negative since', { stream: `conversation:${id}`, since: -1 }],
    ['an unknown field', { stream: `conversation:${id}`, extra: true }],
  ])('refuses %s', (_label, payload) => {
    expect(subscribePayloadSchema.safeParse(payload).success).toBe(false);
  });
});

describe('id normalisation', () => {
  it('lowercases the ids of stream names and conversation ids, as PostgreSQL writes them', () => {
    const upper = id.toUpperCase();
    expect(subscribePayloadSchema.parse({ stream: `conversation:${upper}` }).stream).toBe(
      `conversation:${id}`,
    );
    expect(
      messageSendPayloadSchema.parse({ conversationId: upper, clientId: 'c', body: 'b' })
        .conversationId,
    ).toBe(id);
  });
});

describe('messageSendPayloadSchema', () => {
  it('refuses an empty body and a body over the limit', () => {
    const base = { conversationId: id, clientId: 'c1' };
    expect(messageSendPayloadSchema.safeParse({ ...base, body: '' }).success).toBe(false);
    expect(messageSendPayloadSchema.safeParse({ ...base, body: 'x'.repeat(16_385) }).success).toBe(
      false,
    );
    expect(messageSendPayloadSchema.safeParse({ ...base, body: 'hi' }).success).toBe(true);
  });

  it('refuses text PostgreSQL would refuse or alter (NUL, a lone surrogate), keeps emoji', () => {
    const base = { conversationId: id, clientId: 'c1' };
    const parse = (body: string, clientId = 'c1') =>
      messageSendPayloadSchema.safeParse({ ...base, clientId, body }).success;
    expect(parse('a\u0000b')).toBe(false);
    expect(parse('ok', 'c\u0000')).toBe(false);
    expect(parse('a\ud800b')).toBe(false);
    expect(parse('\udc00')).toBe(false);
    expect(parse('smile 😀 and 𝄞')).toBe(true);
  });

  it('bounds the encoded size of the largest valid send below the frame limit', () => {
    const worst = JSON.stringify([
      'message:send',
      { conversationId: id, clientId: '\u0001'.repeat(64), body: '\u0001'.repeat(16_384) },
    ]);
    expect(Buffer.byteLength(`42999999${worst}`)).toBeLessThanOrEqual(MAX_ENCODED_SEND_BYTES);
    expect(MAX_ENCODED_SEND_BYTES).toBeLessThan(MAX_FRAME_BYTES);
  });
});

describe('streamName', () => {
  it('round-trips through parseStreamName', () => {
    expect(parseStreamName(streamName('user', id))).toEqual({ kind: 'user', id });
  });
});

describe('changesReceivedPayloadSchema', () => {
  it('takes the last seq per stream, up to MAX_RECEIVED_STREAMS streams', () => {
    const stream = streamName('conversation', id);
    expect(changesReceivedPayloadSchema.parse({ streams: { [stream]: 7 } })).toEqual({
      streams: { [stream]: 7 },
    });
    expect(
      changesReceivedPayloadSchema.parse({ streams: { [stream]: 7 }, heldMs: { [stream]: 120 } }),
    ).toEqual({ streams: { [stream]: 7 }, heldMs: { [stream]: 120 } });
    const many = Object.fromEntries(
      Array.from({ length: MAX_RECEIVED_STREAMS + 1 }, (_, i) => [
        `user:${id.slice(0, -4)}${String(i).padStart(4, '0')}`,
        1,
      ]),
    );
    expect(changesReceivedPayloadSchema.safeParse({ streams: many }).success).toBe(false);
  });

  it('refuses a negative or fractional seq, a bad stream name, a bad heldMs and extra fields', () => {
    const stream = streamName('user', id);
    for (const payload of [
      { streams: { [stream]: -1 } },
      { streams: { [stream]: 1.5 } },
      { streams: { 'chat:1': 1 } },
      { streams: {}, extra: true },
      { streams: { [stream]: 1 }, heldMs: { [stream]: -5 } },
      { streams: { [stream]: 1 }, heldMs: { [stream]: 3_600_001 } },
    ]) {
      expect(changesReceivedPayloadSchema.safeParse(payload).success, JSON.stringify(payload)).toBe(
        false,
      );
    }
  });
});
