import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { colorFor, type Io, paint, progressLine, table } from './output.ts';

describe('colour', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  test('on a terminal by default, never into a pipe or file', () => {
    assert.equal(colorFor(tty, {}), true);
    assert.equal(colorFor(pipe, {}), false);
    assert.equal(colorFor(tty, { TERM: 'dumb' }), false);
  });

  test('NO_COLOR turns it off on a terminal; an empty NO_COLOR does not', () => {
    assert.equal(colorFor(tty, { NO_COLOR: '1' }), false);
    assert.equal(colorFor(tty, { NO_COLOR: '' }), true);
  });

  test('FORCE_COLOR turns it on anywhere, and FORCE_COLOR=0 off', () => {
    assert.equal(colorFor(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(colorFor(pipe, { FORCE_COLOR: '' }), true);
    assert.equal(colorFor(tty, { FORCE_COLOR: '0' }), false);
    assert.equal(colorFor(tty, { FORCE_COLOR: 'false' }), false);
    assert.equal(colorFor(pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }), true);
  });

  test('paint leaves text alone where the stream takes no colour', () => {
    const io: Io = { out: () => {}, err: () => {}, isTty: false, color: { out: false, err: true } };
    assert.equal(paint(io, 'out', 'red', 'x'), 'x');
    assert.equal(paint(io, 'err', 'red', 'x'), '\u001b[31mx\u001b[0m');
    assert.equal(paint({ out: () => {}, err: () => {}, isTty: true }, 'out', 'red', 'x'), 'x');
  });

  test('tables align painted cells by what shows', () => {
    const io: Io = { out: () => {}, err: () => {}, isTty: true, color: { out: true, err: true } };
    const text = table([
      ['RESULT', 'NAME'],
      [paint(io, 'out', 'green', 'pass'), 'a'],
    ]);
    assert.match(text, /\[32mpass/);
    const lines = text.split('\n').map((l) => stripVTControlCharacters(l));
    assert.deepEqual(lines, ['RESULT  NAME', 'pass    a']);
  });
});

describe('progress line', () => {
  test('on a terminal: nothing for the first second, then at most four redraws a second, cleared at the end', () => {
    const drawn: (string | null)[] = [];
    const io: Io = { out: () => {}, err: () => {}, isTty: true, progress: (line) => drawn.push(line) };
    let t = 1_000_000;
    const p = progressLine(
      io,
      (n) => `${n} done`,
      () => t,
    );
    for (const [at, n] of [
      [500, 1],
      [999, 2],
      [1_000, 3],
      [1_100, 4],
      [1_249, 5],
      [1_250, 6],
      [2_000, 7],
    ] as const) {
      t = 1_000_000 + at;
      p.update(n);
    }
    p.done();
    assert.deepEqual(drawn, ['3 done', '6 done', '7 done', null]);
  });

  test('short work draws nothing and clears nothing; without a terminal nothing is drawn at all', () => {
    const drawn: (string | null)[] = [];
    const io: Io = { out: () => {}, err: () => {}, isTty: true, progress: (line) => drawn.push(line) };
    let t = 0;
    const short = progressLine(io, String, () => t);
    t = 900;
    short.update(1);
    short.done();
    assert.deepEqual(drawn, []);
    const lines: string[] = [];
    const pipe: Io = { out: () => {}, err: (s) => lines.push(s), isTty: false };
    const none = progressLine(pipe, String, () => t);
    t = 10_000;
    none.update(1);
    none.done();
    assert.deepEqual(lines, []);
  });
});
