import { chatFanout } from './chat-fanout.js';
import { connectionStorm } from './connection-storm.js';
import { largeRoom } from './large-room.js';
import { presenceTyping } from './presence-typing.js';
import { reconnectStorm } from './reconnect-storm.js';
import type { Scenario } from './scenario.js';
import { slowConsumers } from './slow-consumers.js';
import { sqlWrites } from './sql-writes.js';

/** Every scenario `ccs-load` knows, by name. */
export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map(
  [
    chatFanout,
    connectionStorm,
    reconnectStorm,
    largeRoom,
    slowConsumers,
    sqlWrites,
    presenceTyping,
  ].map((scenario) => [scenario.name, scenario]),
);
