// The flow UI in a real browser: Debian's Chromium driven by playwright-core, against a real
// `tricolor flows serve` process fed over its HTTP API with flows carrying real oracle traces.
// Filter by action hides allows, the drawer shows default-deny in tier default, pause stops new
// rows, the URL restores the filters; a screenshot is written to test-results/.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { RESULTS, ROOT, launchBrowser, visibleRows } from './flows-ui-support.ts';
import { API, PG, WEB, demoFlow, demoModels } from '../../src/flows/test-support.ts';
import { until } from '../support/wait.ts';

void describe('flows web UI in Chromium (standalone aggregator)', () => {
  let proc: ChildProcess | undefined;
  let url = '';
  let browser: Browser | undefined;
  const models = demoModels();
  const push = async (flows: unknown[]): Promise<void> => {
    const r = await fetch(`${url}/api/v1/flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ node: 'node-2', flows }) });
    assert.equal(r.status, 200, await r.text());
  };

  before(async () => {
    proc = spawn(process.execPath, [join(ROOT, 'bin/tricolor.ts'), 'flows', 'serve', '--port', '0', '--no-datastore'], { stdio: ['ignore', 'pipe', 'inherit'] });
    url = await new Promise<string>((res, rej) => {
      let out = '';
      proc?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /on (http:\/\/\S+?)\/?\n/.exec(out);
        if (m?.[1] !== undefined) res(m[1]);
      });
      proc?.once('exit', (c) => rej(new Error(`flows serve exited ${c}`)));
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    proc?.kill('SIGTERM');
  });

  void it('filters, drawer, pause and URL state work against live data', async () => {
    const now = Math.floor(Date.now() / 1000);
    await push([
      demoFlow(models, { src: WEB, dst: API, port: 8080, start: now - 5 }),
      demoFlow(models, { src: WEB, dst: API, port: 9090, start: now - 5 }),
      demoFlow(models, { src: WEB, dst: PG, port: 5432, start: now - 5 }),
    ]);
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 800 } });
    await page.goto(`${url}/`);
    await until('three rows', async () => ((await visibleRows(page)).length === 3 ? true : undefined), 15_000);

    // Filter by action: the allows disappear, the URL records it.
    await page.selectOption('#f-action', 'deny');
    await until('only denied rows', async () => {
      const rows = await visibleRows(page);
      return rows.length === 1 && rows[0]?.[0] === 'deny' ? true : undefined;
    }, 15_000);
    assert.match(page.url(), /action=deny/);

    // The drawer: enforced trace ends at tier default's end, triggered by default-deny.
    await page.click('#flow-rows tr');
    await page.waitForSelector('#drawer:not(.hidden)');
    const enforced = await page.$$eval('#enforced tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    assert.deepEqual(enforced, [['0', 'default', 'EndOfTier', '(end of tier)', 'default', 'deny', 'backend/default-deny']]);
    assert.equal(await page.isVisible('#btn-suggest'), true);
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'flows-ui-drawer.png') });
    await page.click('#drawer-close');

    // Pause: a new denied flow does not appear until play.
    await page.click('#btn-pause');
    assert.equal(await page.textContent('#btn-pause'), 'Play');
    await push([demoFlow(models, { src: WEB, dst: API, port: 7777, start: now })]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!(await visibleRows(page)).some((r) => r[2] === '7777'), 'a row arrived while paused');
    await page.click('#btn-pause');
    await until('the 7777 row after play', async () => ((await visibleRows(page)).some((r) => r[2] === '7777') ? true : undefined), 15_000);

    // The URL restores the filters in a fresh page.
    const shared = page.url();
    const page2 = await (browser as Browser).newPage();
    await page2.goto(shared);
    assert.equal(await page2.inputValue('#f-action'), 'deny');
    await until('restored view shows only denies', async () => {
      const rows = await visibleRows(page2);
      return rows.length === 2 && rows.every((r) => r[0] === 'deny') ? true : undefined;
    }, 15_000);
    await page2.screenshot({ path: join(RESULTS, 'flows-ui.png') });
  });
});
