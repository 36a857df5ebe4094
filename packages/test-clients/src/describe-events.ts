import type { RecordedEvent } from './recorded-event.js';

/** How many of the latest events an error message lists. */
const LISTED = 10;
const MAX_ARGS_LENGTH = 200;

/**
 * Lists what arrived (events and acks, newest last) for an error message, so that a failed
 * wait shows what the server did send instead.
 */
export function describeEvents(entries: readonly RecordedEvent[]): string {
  const arrived = entries.filter((entry) => entry.direction !== 'out');
  if (arrived.length === 0) return 'nothing was received';
  const lines = arrived.slice(-LISTED).map((entry) => `  ${describeEvent(entry)}`);
  const heading =
    arrived.length > LISTED
      ? `received ${arrived.length} events, the last ${LISTED}:`
      : `last events received:`;
  return `${heading}\n${lines.join('\n')}`;
}

/** One event on one line: `change {"stream":…,"seq":3}` or `ack subscribe {"ok":true}`. */
export function describeEvent(entry: RecordedEvent): string {
  const prefix = entry.direction === 'ack' ? `ack ${entry.event}` : entry.event;
  const args = entry.args.length === 1 ? entry.args[0] : entry.args;
  return `${prefix} ${truncate(JSON.stringify(args) ?? String(args))}`;
}

function truncate(text: string): string {
  return text.length > MAX_ARGS_LENGTH ? `${text.slice(0, MAX_ARGS_LENGTH)}…` : text;
}
