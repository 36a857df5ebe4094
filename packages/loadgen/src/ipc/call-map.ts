/**
 * The calls a runner makes to its child processes over the fork IPC channel. Each entry maps a
 * method to its parameters and result; {@link ChildLink} and `serveParentCalls` are typed by
 * one such map so both sides agree.
 *
 * @example
 * interface EchoCalls {
 *   echo: { params: { text: string }; result: string };
 * }
 */
export type CallMap<Calls> = {
  readonly [Method in keyof Calls]: { readonly params: unknown; readonly result: unknown };
};

/** Runner → child. */
export interface CallRequest {
  readonly kind: 'call';
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}

/** Child → runner. */
export type ChildMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'reply'; readonly id: number; readonly result: unknown }
  | { readonly kind: 'failure'; readonly id: number; readonly message: string };
