// Helpers of the flow UI tests (standalone aggregator and lab): Chromium via playwright-core, and
// the rows the flow table shows.
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const RESULTS = join(ROOT, 'test-results');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}

/** Rows currently shown: [action, destination, port]. */
export async function visibleRows(page: Page): Promise<Array<[string, string, string]>> {
  return page.$$eval('#flow-rows tr', (trs) => trs.map((tr) => [tr.children[1]?.textContent ?? '', tr.children[4]?.textContent ?? '', tr.children[7]?.textContent ?? '']));
}

