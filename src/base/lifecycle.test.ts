// Disposables: idempotent, reverse order, errors collected, late registrations disposed at once.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncDisposableStore, DisposableStore, MutableDisposable, isDisposable, toAsyncDisposable, toDisposable } from './lifecycle.ts';

void describe('lifecycle', () => {
  void it('toDisposable runs once', () => {
    let n = 0;
    const d = toDisposable(() => n++);
    d.dispose();
    d.dispose();
    assert.equal(n, 1);
    assert.ok(isDisposable(d));
    assert.ok(!isDisposable({}));
    assert.ok(!isDisposable(null));
  });

  void it('a store disposes in reverse order, once, and disposes late additions at once', () => {
    const order: string[] = [];
    const s = new DisposableStore();
    s.add(toDisposable(() => order.push('a')));
    s.add(toDisposable(() => order.push('b')));
    const c = s.add(toDisposable(() => order.push('c')));
    s.delete(c);
    s.dispose();
    s.dispose();
    assert.deepEqual(order, ['b', 'a']);
    assert.ok(s.isDisposed);
    s.add(toDisposable(() => order.push('late')));
    assert.deepEqual(order, ['b', 'a', 'late']);
  });

  void it('one failing disposable does not stop the others; all errors are reported', () => {
    const done: string[] = [];
    const s = new DisposableStore();
    s.add(toDisposable(() => done.push('first')));
    s.add(toDisposable(() => {
      throw new Error('x');
    }));
    s.add(toDisposable(() => {
      throw new Error('y');
    }));
    assert.throws(() => s.dispose(), (e: unknown) => e instanceof AggregateError && e.errors.length === 2);
    assert.deepEqual(done, ['first']);
    const one = new DisposableStore();
    one.add(toDisposable(() => {
      throw new Error('only');
    }));
    assert.throws(() => one.dispose(), /only/);
  });

  void it('clear() disposes what is registered and keeps the store usable', () => {
    let n = 0;
    const s = new DisposableStore();
    s.add(toDisposable(() => n++));
    s.clear();
    assert.equal(n, 1);
    s.add(toDisposable(() => n++));
    assert.equal(n, 1);
    s.dispose();
    assert.equal(n, 2);
  });

  void it('an async store awaits each in reverse order, once', async () => {
    const order: string[] = [];
    const s = new AsyncDisposableStore();
    s.defer(async () => {
      await new Promise((r) => setImmediate(r));
      order.push('a');
    });
    s.add(toAsyncDisposable(() => void order.push('b')));
    s.add({ dispose: () => void order.push('sync') });
    const p1 = s.dispose();
    const p2 = s.dispose();
    assert.equal(p1, p2);
    await p1;
    assert.deepEqual(order, ['sync', 'b', 'a']);
    assert.ok(s.isDisposed);
  });

  void it('an async store rejects with every error after disposing everything', async () => {
    const s = new AsyncDisposableStore();
    let ran = false;
    s.defer(() => {
      ran = true;
    });
    s.defer(() => Promise.reject(new Error('boom')));
    await assert.rejects(s.dispose(), /boom/);
    assert.ok(ran);
  });

  void it('a mutable disposable disposes the value it replaces, and later values once disposed', () => {
    const gone: number[] = [];
    const seen = (): number[] => [...gone];
    const m = new MutableDisposable();
    const one = toDisposable(() => gone.push(1));
    m.value = one;
    m.value = one;
    assert.deepEqual(seen(), []);
    m.value = toDisposable(() => gone.push(2));
    assert.deepEqual(seen(), [1]);
    m.clear();
    assert.deepEqual(seen(), [1, 2]);
    m.value = toDisposable(() => gone.push(3));
    m.dispose();
    assert.deepEqual(seen(), [1, 2, 3]);
    m.value = toDisposable(() => gone.push(4));
    assert.deepEqual(seen(), [1, 2, 3, 4]);
    assert.equal(m.value, undefined);
  });
});
