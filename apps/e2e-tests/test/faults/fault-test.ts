import { it } from 'vitest';
import { openFaultTarget, type FaultAction, type FaultTarget } from './fault-target.js';
import {
  FAULT_TARGET_VARIABLE,
  missingCommands,
  operatorStack,
  readOperatorTarget,
} from './operator-stack.js';
import { startOwnStack } from './own-stack.js';
import { startTwoNodeChat, type TwoNodeChat } from './two-node-chat.js';

/** A target chosen for this run, not started yet (faults it cannot run are known up front). */
export interface FaultTargetPlan {
  readonly description: string;
  /** Why a fault needing `actions` cannot run on this target; `undefined` when it can. */
  unsupported(actions: readonly FaultAction[]): string | undefined;
  /** Time to add to a test's timeout for this target's slower actions. */
  readonly extraTimeMs: number;
  open(): Promise<FaultTarget>;
}

/**
 * The target of this run: the operator's stack when `CCS_FAULT_TARGET` names its file (read
 * and checked now, so a bad file fails every test with the field at fault), else a stack of the
 * suite's own per test.
 */
export function faultTargetPlan(): FaultTargetPlan {
  const file = process.env[FAULT_TARGET_VARIABLE];
  if (!file) {
    return {
      description: 'own stack',
      unsupported: () => undefined,
      extraTimeMs: 0,
      async open() {
        const stack = await startOwnStack();
        return openFaultTarget(stack).catch(async (error: unknown) => {
          await stack.close();
          throw error;
        });
      },
    };
  }
  const config = readOperatorTarget(file);
  const stack = operatorStack(config);
  return {
    description: stack.description,
    unsupported(actions) {
      const missing = missingCommands(config, actions);
      return missing.length > 0 ? `no ${missing.join(', ')} command in ${config.path}` : undefined;
    },
    // A few commands and waits for services to come back, at their slowest.
    extraTimeMs: 2 * (config.commandTimeoutMs + config.readyTimeoutMs),
    open: () => openFaultTarget(stack),
  };
}

/**
 * One fault test on this run's target ({@link faultTargetPlan}): skipped (the reason in its
 * title, and printed) where the target lacks an action in `needs`, else run on a target opened
 * for it, with devices chatting across its gateways ({@link startTwoNodeChat}), all closed after.
 */
export function faultTest(
  title: string,
  needs: readonly FaultAction[],
  timeoutMs: number,
  body: (target: FaultTarget, chat: TwoNodeChat) => Promise<void>,
): void {
  const plan = faultTargetPlan();
  const reason = plan.unsupported(needs);
  if (reason) console.info(`[fault] skipped on ${plan.description}: ${title}: ${reason}`);
  it.skipIf(reason !== undefined)(
    reason ? `${title} [skipped: ${reason}]` : title,
    async () => {
      const target = await plan.open();
      let chat: TwoNodeChat | undefined;
      try {
        chat = await startTwoNodeChat(target);
        await body(target, chat);
      } finally {
        await chat?.close();
        await target.close();
      }
    },
    timeoutMs + plan.extraTimeMs,
  );
}
