import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConversationSnapshot } from '@ccs/protocol';
import type { ServerProcess } from '@ccs/test-env';
import puppeteer, {
  type Browser,
  type BrowserContext,
  type EvaluateFunc,
  type Page,
} from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken, startOwnServer, type OwnServer } from './own-server.js';

// The demo page at /demo, in real headless Chromium (Debian's `chromium`, which
// tools/bootstrap.mjs installs for the tests), against a real sync-server process.

/** Chromium: CHROMIUM_PATH, or the first of these on PATH. */
function findChromium(): string | undefined {
  if (process.env['CHROMIUM_PATH']) return process.env['CHROMIUM_PATH'];
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return undefined;
}

const chromium = findChromium();
if (!chromium) {
  console.warn(
    '[browser-demo] no Chromium found: the browser test is skipped. Install it with ' +
      '`apt-get install -y chromium` (tools/bootstrap.mjs does, as root) or set CHROMIUM_PATH.',
  );
}

const reportsDir = resolve(import.meta.dirname, '../../../reports');
/** Every wait of this file is bounded by this. */
const WAIT_MS = 15_000;

let own: OwnServer;
let server: ServerProcess;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromium) return;
  own = await startOwnServer('browser');
  ({ server } = own);
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: WAIT_MS,
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await own?.close();
});

/** A device token from `POST /v1/dev/tokens`, for a new device of `userId`. */
function mintToken(userId: string): Promise<{ token: string; deviceId: string }> {
  return mintDevToken(server.url, { userId });
}

/** A REST call as a device (JSON in, JSON out); fails the test on an error answer. */
async function rest<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const answer = (await response.json()) as T;
  expect(response.status, JSON.stringify(answer)).toBe(200);
  return answer;
}

/** One device's page: its own browser context (own IndexedDB), and what it printed. */
interface DevicePage {
  readonly name: string;
  readonly deviceId: string;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly console: string[];
}

async function openDemo(name: string, token: string, deviceId: string, query: string) {
  const context = await browser!.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.setViewport({ width: 720, height: 900 });
  const output: string[] = [];
  page.on('console', (message) => output.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => output.push(`pageerror: ${String(error)}`));
  await page.goto(`${server.url}/demo?${query}&token=${encodeURIComponent(token)}`);
  const device: DevicePage = { name, deviceId, context, page, console: output };
  await waitForState(device, 'connected');
  return device;
}

/** Waits for `#state[data-state=…]`; on a timeout, says what the page showed and printed. */
async function waitForState(device: DevicePage, state: string): Promise<void> {
  await waitUntil(
    device,
    `connection ${state}`,
    (wanted) => {
      return document.querySelector('#state')?.getAttribute('data-state') === wanted;
    },
    state,
  );
}

/** Waits (bounded) until `predicate` holds in the page. */
async function waitUntil<A>(
  device: DevicePage,
  what: string,
  predicate: EvaluateFunc<[A]>,
  arg: A,
): Promise<void> {
  try {
    await device.page.waitForFunction(predicate, { timeout: WAIT_MS, polling: 50 }, arg);
  } catch (error) {
    const shown = await device.page
      .evaluate(() => document.body.innerText)
      .catch(() => '(page gone)');
    throw new Error(
      `${device.name}: "${what}" did not happen within ${WAIT_MS} ms (${String(error)})\n` +
        `page:\n${shown}\nconsole:\n${device.console.join('\n')}`,
    );
  }
}

interface ShownMessage {
  readonly id: string | null;
  readonly seq: number;
  readonly body: string;
  readonly pending: boolean;
}

/** The messages the page shows, in its order (confirmed by seq, then pending ones). */
function shownMessages(device: DevicePage): Promise<ShownMessage[]> {
  return device.page.$$eval('#messages li', (items) =>
    items.map((item) => ({
      id: item.getAttribute('data-message-id'),
      seq: Number(item.getAttribute('data-seq') ?? 0),
      body: item.querySelector('.body')?.textContent ?? '',
      pending: item.hasAttribute('data-pending'),
    })),
  );
}

/** Waits until the page shows exactly these bodies as confirmed messages, none pending. */
async function waitForMessages(device: DevicePage, bodies: readonly string[]): Promise<void> {
  await waitUntil(
    device,
    `messages ${JSON.stringify(bodies)}`,
    (wanted) => {
      const items = [...document.querySelectorAll('#messages li')];
      const shown = items.map((item) => item.querySelector('.body')?.textContent ?? '');
      return (
        items.every((item) => item.hasAttribute('data-message-id')) &&
        JSON.stringify([...shown].sort()) === JSON.stringify([...wanted].sort())
      );
    },
    bodies,
  );
}

async function send(device: DevicePage, body: string): Promise<void> {
  await device.page.locator('#body').fill(body);
  await device.page.locator('#send button[type=submit]').click();
}

/** Writes a file through the page's editor: path, content, and the base version in the form. */
async function saveFile(device: DevicePage, path: string, content: string): Promise<void> {
  await device.page.locator('#file-path').fill(path);
  await device.page.locator('#file-content').fill(content);
  await device.page.locator('#edit button[type=submit]').click();
}

async function waitForFile(device: DevicePage, path: string, version: number): Promise<void> {
  await waitUntil(
    device,
    `${path} at v${version}`,
    ([wantedPath, wantedVersion]) =>
      [...document.querySelectorAll('#files li')].some(
        (item) =>
          item.getAttribute('data-path') === wantedPath &&
          item.getAttribute('data-version') === String(wantedVersion),
      ),
    [path, version] as const,
  );
}

/** How many writes wait in the page's IndexedDB outbox (`ccs-outbox-<deviceId>`). */
function storedOutbox(device: DevicePage): Promise<number> {
  return device.page.evaluate(
    (name) =>
      new Promise<number>((done, fail) => {
        const opening = indexedDB.open(name);
        opening.onerror = () => fail(opening.error);
        opening.onsuccess = () => {
          const db = opening.result;
          if (!db.objectStoreNames.contains('items')) {
            db.close();
            done(0);
            return;
          }
          const counting = db.transaction('items').objectStore('items').count();
          counting.onsuccess = () => {
            db.close();
            done(counting.result);
          };
          counting.onerror = () => fail(counting.error);
        };
      }),
    `ccs-outbox-${device.deviceId}`,
  );
}

/** Both pages side by side in one PNG, under reports/. */
async function saveScreenshot(devices: readonly DevicePage[], file: string): Promise<string> {
  const shots = await Promise.all(
    devices.map((device) => device.page.screenshot({ encoding: 'base64', fullPage: true })),
  );
  const sheet = await browser!.newPage();
  try {
    await sheet.setViewport({ width: 720 * devices.length + 24, height: 900 });
    await sheet.setContent(
      `<body style="margin:0;display:flex;gap:8px;background:#444;padding:4px">${shots
        .map((shot) => `<img src="data:image/png;base64,${shot}" style="background:#fff">`)
        .join('')}</body>`,
      { waitUntil: 'load' },
    );
    await mkdir(reportsDir, { recursive: true });
    const path = resolve(reportsDir, file);
    await writeFile(path, await sheet.screenshot({ fullPage: true }));
    return path;
  } finally {
    await sheet.close();
  }
}

describe.skipIf(!chromium)('the /demo page in headless Chromium', () => {
  it('two devices sync a message and a file, and one sends offline: every message once on both', async () => {
    const user = randomUUID();
    const a = await mintToken(user);
    const b = await mintToken(user);
    const { id: conversationId } = await rest<{ id: string }>(a.token, 'POST', '/conversations', {
      clientId: randomUUID(),
      title: 'browser demo',
    });
    const { id: workspaceId } = await rest<{ id: string }>(a.token, 'POST', '/workspaces', {
      clientId: randomUUID(),
      name: 'browser demo files',
    });
    const query = `conversation=${conversationId}&workspace=${workspaceId}`;
    const pageA = await openDemo('page A', a.token, a.deviceId, query);
    const pageB = await openDemo('page B', b.token, b.deviceId, query);
    try {
      // 1. A message from A shows on B.
      await send(pageA, 'hello from A');
      await waitForMessages(pageB, ['hello from A']);
      await waitForMessages(pageA, ['hello from A']);

      // 2. A file made on A shows on B; B's edit shows on A; A's edit on the old version is a
      //    conflict, shown on A.
      await saveFile(pageA, 'notes/today.md', 'v1 from A');
      await waitForFile(pageB, 'notes/today.md', 1);
      await pageB.page.locator('#files li[data-path="notes/today.md"] button').click();
      await waitUntil(
        pageB,
        'the file loaded into the editor',
        () =>
          (document.querySelector('#file-content') as HTMLTextAreaElement).value === 'v1 from A',
        undefined,
      );
      await saveFile(pageB, 'notes/today.md', 'v2 from B');
      await waitForFile(pageA, 'notes/today.md', 2);
      await saveFile(pageA, 'notes/today.md', 'v2 from A, made on v1');
      await waitUntil(
        pageA,
        'a conflict shown',
        () =>
          document
            .querySelector('#file-status[data-conflict]')
            ?.textContent?.includes('conflict') === true,
        undefined,
      );

      // 3. A goes offline (DevTools network emulation, as a lost network): its socket drops.
      await pageA.page.setOfflineMode(true);
      await waitForState(pageA, 'disconnected');
      await send(pageA, 'offline one');
      await send(pageA, 'offline two');
      await send(pageB, 'from B while A is offline');
      await waitUntil(
        pageA,
        'two writes pending',
        () => {
          return document.querySelector('#pending')?.textContent === '2';
        },
        undefined,
      );
      expect(await storedOutbox(pageA)).toBe(2);
      const whileOffline = await shownMessages(pageA);
      expect(
        whileOffline.filter((message) => message.pending).map((message) => message.body),
      ).toEqual(['offline one', 'offline two']);
      await waitForMessages(pageB, ['hello from A', 'from B while A is offline']);

      // Still offline: the socket.io reconnect attempts fail while the emulation lasts.
      expect(await pageA.page.$eval('#state', (state) => state.getAttribute('data-state'))).toBe(
        'disconnected',
      );

      // 4. Back online: the outbox goes out, A catches up; both end with every message once.
      await pageA.page.setOfflineMode(false);
      await waitForState(pageA, 'connected');
      const all = ['hello from A', 'offline one', 'offline two', 'from B while A is offline'];
      await waitForMessages(pageA, all);
      await waitForMessages(pageB, all);
      await waitUntil(
        pageA,
        'nothing pending',
        () => {
          return document.querySelector('#pending')?.textContent === '0';
        },
        undefined,
      );
      expect(await storedOutbox(pageA)).toBe(0);

      const snapshot = await rest<ConversationSnapshot>(
        a.token,
        'GET',
        `/streams/conversation:${conversationId}/snapshot`,
      );
      const stored = snapshot.messages.map((message) => ({
        id: message.id,
        seq: message.seq,
        body: message.body,
        pending: false,
      }));
      expect(stored.map((message) => message.body).sort()).toEqual([...all].sort());
      for (const device of [pageA, pageB]) {
        const shown = await shownMessages(device);
        expect(shown, device.name).toEqual(stored);
        expect(new Set(shown.map((message) => message.id)).size, device.name).toBe(all.length);
      }
      // A's two offline messages went out in the order they were written.
      const seqOf = (body: string): number => stored.find((message) => message.body === body)!.seq;
      expect(seqOf('offline one')).toBeLessThan(seqOf('offline two'));

      const screenshot = await saveScreenshot([pageA, pageB], 'browser-demo.png');
      console.log(`[browser-demo] screenshot: ${screenshot}`);
    } finally {
      await pageA.context.close();
      await pageB.context.close();
    }
  }, 120_000);
});
