import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineEndingGuard } from '../../src/receive/line-guard.js';

async function through(mode: 'normalize' | 'reject', chunks: (string | Buffer)[]): Promise<{ out: Buffer; guard: LineEndingGuard }> {
  const parts: Buffer[] = [];
  const guard = new LineEndingGuard(mode, (c) => parts.push(Buffer.from(c)));
  for (const c of chunks) guard.write(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  guard.end();
  return { out: Buffer.concat(parts), guard };
}

test('clean CRLF input passes through unchanged, split anywhere', async () => {
  const msg = 'Subject: x\r\n\r\nline one\r\nline two\r\n';
  for (let cut = 1; cut < msg.length; cut++) {
    const { out, guard } = await through('reject', [msg.slice(0, cut), msg.slice(cut)]);
    assert.equal(out.toString('latin1'), msg, `cut at ${cut}`);
    assert.equal(guard.violation, undefined);
  }
});

test('normalize turns bare LF and bare CR into CRLF and drops NUL, across chunk boundaries', async () => {
  const { out, guard } = await through('normalize', ['a\nb\r', 'c\r', '\nd\x00e\r']);
  assert.equal(out.toString('latin1'), 'a\r\nb\r\nc\r\nde\r\n');
  assert.deepEqual(guard.stats, { bareLf: 1, bareCr: 2, nul: 1 });
});

test('reject records the first violation and passes nothing after it', async () => {
  const { out, guard } = await through('reject', ['ok\r\nbad\nrest\r\n']);
  assert.equal(guard.violation, 'a bare LF');
  assert.ok(!out.toString('latin1').includes('rest'));
  const cr = await through('reject', ['ok\r\nbad\rrest\r\n']);
  assert.equal(cr.guard.violation, 'a bare CR');
  const nul = await through('reject', ['ok\x00\r\n']);
  assert.equal(nul.guard.violation, 'a NUL character');
});

test('smuggling sequences are normalised into ordinary lines', async () => {
  const { out } = await through('normalize', ['text\n.\nMAIL FROM:<x@y>\r\n']);
  assert.equal(out.toString('latin1'), 'text\r\n.\r\nMAIL FROM:<x@y>\r\n');
});
