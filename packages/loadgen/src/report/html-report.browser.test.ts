import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from './html-report.js';
import { TARGET_NAMES } from './load-report.js';
import { buildSampleReport } from './report-fixture.test-helper.js';

// The sample report's HTML page in real headless Chromium (Debian's `chromium`, which
// tools/bootstrap.mjs installs): it must load nothing, print no error, and draw its charts.
// Leaves reports/loadgen-report.html and reports/loadgen-report.png for a human to look at.

const reportsDir = resolve(import.meta.dirname, '../../../../reports');
const htmlPath = resolve(reportsDir, 'loadgen-report.html');
const screenshotPath = resolve(reportsDir, 'loadgen-report.png');
/** Every wait of this file is bounded by this. */
const WAIT_MS = 20_000;

/** Chromium: CHROMIUM_PATH, /usr/bin/chromium, or the first of these on PATH. */
function findChromium(): string | undefined {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv) return fromEnv;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return undefined;
}

let browser: Browser | undefined;

beforeAll(async () => {
  const chromium = findChromium();
  // Not a skip: this test is the only check that the page really renders.
  if (!chromium || !existsSync(chromium)) {
    throw new Error(
      `[html-report.browser] no Chromium at ${chromium ?? '/usr/bin/chromium or on PATH'}: ` +
        'install it with `apt-get install -y chromium` (tools/bootstrap.mjs does, as root) or ' +
        'set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  }
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: WAIT_MS,
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** What the page did while it loaded. */
interface PageLog {
  readonly errors: string[];
  readonly requests: string[];
  readonly failedRequests: string[];
}

async function openReport(page: Page, url: string): Promise<PageLog> {
  const log: PageLog = { errors: [], requests: [], failedRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') {
      log.errors.push(`${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => log.errors.push(`pageerror: ${String(error)}`));
  page.on('request', (request) => log.requests.push(request.url()));
  page.on('requestfailed', (request) =>
    log.failedRequests.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`),
  );
  // Navigates over CDP rather than with page.goto(), whose watcher leaves a promise pending
  // forever (vitest's detectAsyncLeaks would print it).
  const session = await page.createCDPSession();
  try {
    // Settles either way (true on `load`, false after WAIT_MS), so nothing is left pending.
    let timer: NodeJS.Timeout | undefined;
    const loaded = new Promise<boolean>((settle) => {
      page.once('load', () => settle(true));
      timer = setTimeout(() => settle(false), WAIT_MS);
    });
    try {
      const navigation = await session.send('Page.navigate', { url });
      expect(navigation.errorText ?? '', 'navigation error').toBe('');
      expect(await loaded, `the report's load event within ${WAIT_MS} ms`).toBe(true);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await session.detach();
  }
  return log;
}

interface ChartInfo {
  readonly scenario: string;
  readonly chart: string;
  readonly width: number;
  readonly height: number;
  readonly seriesTargets: string[];
  readonly drawnTargets: string[];
}

describe('the HTML report in headless Chromium', () => {
  it('loads nothing, logs no error, draws both charts per scenario with a line per target, and is screenshotted', async () => {
    const report = buildSampleReport();
    await mkdir(reportsDir, { recursive: true });
    await writeFile(htmlPath, renderHtmlReport(report));

    const page = await browser!.newPage();
    try {
      await page.setViewport({ width: 1280, height: 900 });
      const log = await openReport(page, pathToFileURL(htmlPath).href);

      expect(log.errors).toEqual([]);
      expect(log.failedRequests).toEqual([]);
      // The document itself and nothing else.
      expect(log.requests).toEqual([pathToFileURL(htmlPath).href]);

      const charts = await page.$$eval('section.scenario svg.chart', (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          const drawn = [...svg.querySelectorAll('path.series, polyline.series')].filter((line) => {
            // An SVGGraphicsElement (this tsconfig has no DOM lib).
            const lineBox = (
              line as unknown as { getBBox(): { width: number; height: number } }
            ).getBBox();
            return lineBox.width > 0 || lineBox.height > 0;
          });
          return {
            scenario: svg.closest('section')?.getAttribute('data-scenario') ?? '',
            chart: svg.getAttribute('data-chart') ?? '',
            width: box.width,
            height: box.height,
            seriesTargets: [
              ...new Set(
                [...svg.querySelectorAll('path.series, polyline.series')].map(
                  (line) => line.getAttribute('data-series') ?? '',
                ),
              ),
            ].sort(),
            drawnTargets: [
              ...new Set(drawn.map((line) => line.getAttribute('data-series') ?? '')),
            ].sort(),
          } satisfies ChartInfo;
        }),
      );
      const expectedCharts = report.scenarios.flatMap((scenario) =>
        ['timeline', 'histogram'].map((chart) => ({ scenario: scenario.scenario, chart })),
      );
      expect(charts.map(({ scenario, chart }) => ({ scenario, chart }))).toEqual(expectedCharts);
      const targets = [...TARGET_NAMES].sort();
      for (const chart of charts) {
        expect(chart.width, `${chart.scenario} ${chart.chart} width`).toBeGreaterThan(300);
        expect(chart.height, `${chart.scenario} ${chart.chart} height`).toBeGreaterThan(150);
        expect(chart.seriesTargets, `${chart.scenario} ${chart.chart} series`).toEqual(targets);
        expect(chart.drawnTargets, `${chart.scenario} ${chart.chart} drawn`).toEqual(targets);
      }

      // The failed check is shown as failed, and the banner says FAILED.
      const verdict = await page.$eval('#verdict', (element) => element.textContent ?? '');
      expect(verdict).toContain('FAILED');
      const failedRows = await page.$$eval('table.checks tr.failed', (rows) =>
        rows.map((row) => row.textContent ?? ''),
      );
      expect(failedRows).toHaveLength(1);
      expect(failedRows[0]).toContain('resume.time.p99Ms');

      await writeFile(screenshotPath, await page.screenshot({ fullPage: true }));
      expect(existsSync(screenshotPath)).toBe(true);
    } finally {
      await page.close();
    }
  }, 60_000);
});
