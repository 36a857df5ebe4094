import type { Ack, ChangeEvent, ResyncRequiredEvent, SubscribeResult } from '@ccs/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Fleet } from './fleet.js';
import type { TestClient } from './test-client.js';
import './vitest.js';

declare const client: TestClient;
declare const fleet: Fleet;

describe('TestClient types', () => {
  it('types events, payloads and acks by the protocol', () => {
    expectTypeOf(client.waitFor('change')).resolves.toEqualTypeOf<[event: ChangeEvent]>();
    expectTypeOf(client.received('resync_required')).toEqualTypeOf<
      [event: ResyncRequiredEvent][]
    >();
    expectTypeOf(client.emitWithAck('subscribe', { stream: 'user:x' })).resolves.toEqualTypeOf<
      Ack<SubscribeResult>
    >();
    expectTypeOf(fleet.waitForAll('change')).resolves.toEqualTypeOf<[event: ChangeEvent][]>();
    // @ts-expect-error not a server event
    void client.waitFor('nope');
    // @ts-expect-error a subscribe needs a stream
    void client.emitWithAck('subscribe', {});
  });

  it('types the matchers', () => {
    expectTypeOf(expect(client).toReceiveEvent('change')).toEqualTypeOf<Promise<void>>();
    // @ts-expect-error the predicate gets a change, which has no `nope`
    expect(client).toHaveReceivedEvent('change', (c) => c.nope === 1);
  });
});
