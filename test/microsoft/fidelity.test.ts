/**
 * Fidelity: device → authrelay → Microsoft 365 emulator for every Microsoft
 * transport. What the device sent is what Microsoft receives: the body byte
 * for byte; the header block changed only by the relay's Received field and,
 * on the Graph route, by the Bcc field (envelope recipients not in To/Cc) and
 * 8-bit header bytes repaired into RFC 2047 encoded words. Large messages on
 * the Graph route go as a draft plus upload sessions: their attachments
 * arrive with the same bytes and Content-IDs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import libmime from 'libmime';
import { startEmulator } from '../emulator/index.js';
import type { Emulator, SentMessage } from '../emulator/api.js';
import { corpus, smtputf8, type CorpusMessage } from '../fixtures/corpus.js';
import { contoso, deviceSend, directSendUpstream, graphUpstream, headerFields, smtpOauthUpstream, splitMessage, storedBytes, type Contoso } from '../helpers/m365.js';
import { startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.close();
});

type Kind = 'graph' | 'smtp-oauth' | 'direct-send';

async function relayFor(kind: Kind, c: Contoso): Promise<TestRelay> {
  const upstream = kind === 'graph' ? graphUpstream(emu, c) : kind === 'smtp-oauth' ? smtpOauthUpstream(emu, c) : directSendUpstream(emu, c);
  return startRelay({ upstreams: { m365: upstream }, routes: [{ use: 'm365' }] });
}

/** Sends one corpus message and returns what the relay stored and what Microsoft recorded. */
async function roundTrip(relay: TestRelay, m: CorpusMessage): Promise<{ stored: Buffer; sent: SentMessage }> {
  const before = emu.sent().length;
  const id = await deviceSend(relay, m.from, m.to, m.raw);
  const done = await relay.waitFor(id, ['delivered', 'failed', 'held'], 120_000);
  assert.equal(done.state, 'delivered', `${m.name}: ${JSON.stringify(done.lastError ?? done.recipientRecords.map((r) => r.last))}`);
  const sent = emu.sent().slice(before);
  assert.equal(sent.length, 1, `${m.name}: Microsoft received it once`);
  return { stored: await storedBytes(relay, id), sent: sent[0]! };
}

const lower = (a: string[]) => a.map((x) => x.toLowerCase()).sort();

for (const kind of ['smtp-oauth', 'direct-send'] as const) {
  describe(`fidelity via ${kind}`, () => {
    let c: Contoso;
    let relay: TestRelay;
    before(async () => {
      c = contoso(emu);
      relay = await relayFor(kind, c);
    });
    after(() => relay.close());

    for (const make of corpusNames()) {
      // The 60 MB message takes over a minute on a busy machine.
      test(`${make}: the stored message and envelope reach Microsoft unchanged`, { timeout: 300_000 }, async () => {
        const m = corpus(c.scanner, [c.alice, c.bob], { big: make === '60 MB message' }).find((x) => x.name === make)!;
        const { stored, sent } = await roundTrip(relay, m);
        assert.ok(stored.subarray(stored.length - m.raw.length).equals(m.raw), 'the relay stored what the device sent after its Received field');
        assert.ok(sent.mime.equals(stored), `${m.name}: Microsoft got the stored bytes exactly (${sent.mime.length} vs ${stored.length} bytes)`);
        assert.deepEqual(lower(sent.envelope!.to), lower(m.to));
        assert.equal(sent.envelope!.from.toLowerCase(), m.from.toLowerCase());
        assert.deepEqual(lower(sent.recipients), lower(m.to));
      });
    }
  });
}

describe('fidelity via graph', () => {
  let c: Contoso;
  let relay: TestRelay;
  before(async () => {
    c = contoso(emu);
    relay = await relayFor('graph', c);
  });
  after(() => relay.close());

  for (const make of corpusNames()) {
    test(`${make}: Microsoft gets the device's message, with Bcc for envelope-only recipients`, { timeout: 300_000 }, async () => {
      const m = corpus(c.scanner, [c.alice, c.bob], { big: make === '60 MB message' }).find((x) => x.name === make)!;
      // Carol is only in the envelope: she must be delivered to, through a Bcc field Microsoft never shows.
      const to = [...m.to, c.carol];
      const { stored, sent } = await roundTrip(relay, { ...m, to });
      assert.deepEqual(lower(sent.recipients), lower(to), 'recipients come from the envelope');
      assert.equal(sent.mailbox?.toLowerCase(), c.scanner.toLowerCase());
      if (sent.via === 'graph-mime') {
        const want = splitMessage(stored);
        const got = splitMessage(sent.mime);
        assert.ok(got.body.equals(want.body), `${m.name}: body byte for byte`);
        const wantFields = headerFields(want.header);
        const gotFields = headerFields(got.header);
        const bcc = gotFields.filter((f) => f.name === 'bcc');
        assert.equal(bcc.length, 1, 'one Bcc field');
        assert.ok(bcc[0]!.raw.toString().toLowerCase().includes(c.carol.toLowerCase()), 'Carol is in Bcc');
        const rest = gotFields.filter((f) => f.name !== 'bcc');
        assert.equal(rest.length, wantFields.length, 'no other field added or removed');
        rest.forEach((f, i) => {
          const w = wantFields[i]!;
          assert.equal(f.name, w.name);
          if (!has8bit(w.raw)) return assert.ok(f.raw.equals(w.raw), `${f.name} unchanged: ${f.raw.toString('latin1')}`);
          assert.ok(!has8bit(f.raw), `${f.name}: 8-bit bytes repaired into encoded words`);
          assert.equal(decodeField(f.raw), decodeRaw(w.raw, m), `${f.name}: the same text after repair`);
        });
      } else {
        assert.equal(sent.via, 'graph-draft', `${m.name}: a large message goes as a draft with uploads`);
        for (const [name, a] of m.attachments) {
          const got = sent.attachments.find((x) => x.name === name);
          assert.ok(got, `${name} attached`);
          assert.ok(got.content.equals(a.bytes), `${name}: same ${a.bytes.length} bytes`);
          if (a.contentId) assert.equal(got.contentId?.replace(/^<|>$/g, ''), a.contentId, `${name} keeps its Content-ID`);
        }
        assert.ok(sent.mime.length < 4 * 1024 * 1024, 'the draft itself fits one request');
      }
    });
  }
});

test('SMTPUTF8 addresses reach Microsoft over SMTP with the envelope intact', async () => {
  const c = contoso(emu);
  const relay = await relayFor('smtp-oauth', c);
  try {
    const to = [`受付@${c.tenant.domains[1]}`];
    const m = smtputf8(c.scanner, to);
    emu.addMailbox(c.tenant.id, { address: to[0]! });
    const { stored, sent } = await roundTrip(relay, m);
    assert.ok(sent.mime.equals(stored));
    assert.deepEqual(sent.envelope!.to, to);
  } finally {
    await relay.close();
  }
});

test('a message/partial fragment is passed through, with a warning in the log', async () => {
  const c = contoso(emu);
  const relay = await relayFor('graph', c);
  try {
    const m = corpus(c.scanner, [c.alice]).find((x) => x.partial)!;
    const { sent } = await roundTrip(relay, m);
    assert.match(sent.mime.toString('latin1'), /Content-Type: message\/partial; id="scan-7781@mfp\.contoso\.com"; number=1; total=2/);
    assert.ok(relay.logs.some((l) => l.level === 'warn' && /message\/partial/.test(String(l.msg))), 'a warning says the fragment is passed on as it is');
  } finally {
    await relay.close();
  }
});

function corpusNames(): string[] {
  return [...corpus('a@b.c', ['d@e.f']).map((m) => m.name), '60 MB message'];
}

function has8bit(b: Buffer): boolean {
  return b.some((x) => x >= 0x80);
}

function fieldValue(raw: string): string {
  return raw.slice(raw.indexOf(':') + 1).replace(/\r\n[ \t]/g, ' ').trim();
}

/** A repaired field read as text (encoded words decoded). */
function decodeField(raw: Buffer): string {
  return libmime.decodeWords(fieldValue(raw.toString('latin1'))).replace(/\s+/g, ' ');
}

/** The original 8-bit field read as text in the charset the device used. */
function decodeRaw(raw: Buffer, m: CorpusMessage): string {
  const charset = /charset="?([^";\s]+)/i.exec(m.raw.toString('latin1'))?.[1] ?? 'utf-8';
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    text = new TextDecoder(charset.toLowerCase()).decode(raw);
  }
  return libmime.decodeWords(fieldValue(text)).replace(/\s+/g, ' ');
}
