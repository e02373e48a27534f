import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostUserPool } from './host-users.ts';

describe('HostUserPool', () => {
  it('gives a work directory the same uid every time it is free', () => {
    const pool = new HostUserPool({ first: 1000, count: 64 });
    const a = pool.lease('/work/a');
    a.release();
    assert.equal(pool.lease('/work/a').uid, a.uid);
  });

  it('never gives two running work directories the same uid', () => {
    const pool = new HostUserPool({ first: 1000, count: 8 });
    const leases = Array.from({ length: 8 }, (_, i) => pool.lease(`/work/${i}`));
    assert.equal(new Set(leases.map((l) => l.uid)).size, 8);
    for (const l of leases) assert.ok(l.uid >= 1000 && l.uid < 1008 && l.gid === l.uid);
    assert.throws(() => pool.lease('/work/extra'), RangeError);
    leases[3]?.release();
    assert.equal(pool.lease('/work/extra').uid, leases[3]?.uid);
  });

  it('refuses ranges that reach the top of the uid space', () => {
    assert.throws(() => new HostUserPool({ first: 2 ** 31 - 10, count: 100 }), RangeError);
  });
});
