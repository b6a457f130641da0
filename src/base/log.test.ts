import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, nullLogger, tryParseLogLevel } from './log.ts';

void describe('logging facade', () => {
  const now = (): Date => new Date('2026-01-02T03:04:05.000Z');

  void it('formats time, scope and level prefix; drops lines below the level', () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l), scope: 'node-1', now });
    log.debug('hidden');
    log.info('hello');
    log.warn('careful');
    log.error('broken');
    log.child('bgp').info('up');
    assert.deepEqual(lines, [
      '2026-01-02T03:04:05.000Z [node-1] hello',
      '2026-01-02T03:04:05.000Z [node-1] warning: careful',
      '2026-01-02T03:04:05.000Z [node-1] error: broken',
      '2026-01-02T03:04:05.000Z [node-1/bgp] up',
    ]);
  });

  void it('debug level and no scope', () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l), level: 'debug', now });
    log.debug('d');
    log.child('x').debug('e');
    assert.deepEqual(lines, ['2026-01-02T03:04:05.000Z debug: d', '2026-01-02T03:04:05.000Z [x] debug: e']);
    nullLogger.child('y').error('nothing');
  });

  void it('level names, Felix spelling included', () => {
    const cases: [string | undefined, string | undefined][] = [
      ['Debug', 'debug'],
      ['info', 'info'],
      ['Warning', 'warn'],
      ['warn', 'warn'],
      ['Error', 'error'],
      ['Fatal', 'error'],
      ['verbose', undefined],
      [undefined, undefined],
    ];
    for (const [text, want] of cases) assert.equal(tryParseLogLevel(text), want, String(text));
  });
});
