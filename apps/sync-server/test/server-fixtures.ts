// The sync-server in this test's own process: @ccs/test-server's fixtures over this server.
import { inProcessServerFixtures } from '@ccs/test-server/vitest';
import * as syncServer from '@ccs/server';

export const test = inProcessServerFixtures(syncServer);
