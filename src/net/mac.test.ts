import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMAC, isTricolorErrorLike, parseMAC, tryParseMAC } from './test-support.ts';

void test('MAC addresses in the forms Go net.ParseMAC accepts', async (t) => {
  const cases: [string, string | null][] = [
    ['00:00:5e:00:53:01', '00:00:5e:00:53:01'],
    ['00-00-5E-00-53-01', '00:00:5e:00:53:01'],
    ['0000.5e00.5301', '00:00:5e:00:53:01'],
    ['02:00:5e:10:00:00:00:01', '02:00:5e:10:00:00:00:01'],
    ['0200.5e10.0000.0001', '02:00:5e:10:00:00:00:01'],
    ['00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01', '00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01'],
    ['00:00:5e:00:53', null],
    ['00:00:5e:00:53:01:02', null],
    ['00:00:5e-00:53:01', null],
    ['0:0:5e:0:53:1', null],
    ['00:00:5e:00:53:0g', null],
    ['0000.5e00.530', null],
    ['', null],
  ];
  for (const [text, want] of cases) {
    await t.test(text, () => {
      const m = tryParseMAC(text);
      if (want === null) {
        assert.equal(m, undefined);
        assert.throws(() => parseMAC(text), (e: unknown) => isTricolorErrorLike(e, 'ERR_VALIDATION'));
      } else {
        assert.ok(m);
        assert.equal(formatMAC(m), want);
      }
    });
  }
});
