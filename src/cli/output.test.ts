import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { colorFor, type Io, paint, table } from './output.ts';

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
