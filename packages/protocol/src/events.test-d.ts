import { expectTypeOf, test } from 'vitest';
import type { z } from 'zod';
import type { CHANGE_ENTITIES, ChangeEntity, ClientToServerEvents } from './events.js';
import type {
  messageSendPayloadSchema,
  subscribePayloadSchema,
  unsubscribePayloadSchema,
} from './payloads.js';

// The typed event map and the runtime schemas must describe the same payloads: the gateway
// validates with the schemas while clients are typed by the map.
test('event map payloads are the zod schemas’ types', () => {
  expectTypeOf<Parameters<ClientToServerEvents['subscribe']>[0]>().toEqualTypeOf<
    z.infer<typeof subscribePayloadSchema>
  >();
  expectTypeOf<Parameters<ClientToServerEvents['unsubscribe']>[0]>().toEqualTypeOf<
    z.infer<typeof unsubscribePayloadSchema>
  >();
  expectTypeOf<Parameters<ClientToServerEvents['message:send']>[0]>().toEqualTypeOf<
    z.infer<typeof messageSendPayloadSchema>
  >();
});

// The run-time list of entities must name every entity the type map has, and no other.
test('CHANGE_ENTITIES lists every ChangeEntity', () => {
  expectTypeOf<(typeof CHANGE_ENTITIES)[number]>().toEqualTypeOf<ChangeEntity>();
});
