/**
 * A non-delivery notice and an alert e-mail in both languages, as the
 * upstream received them, read by two independent parsers: Python's `email`
 * package (policy.default) and the npm package mailparser. The Subject
 * decodes (RFC 2047 encoded words), the Japanese text decodes from UTF-8, the
 * delivery-status part is the same machine-readable report as ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { startUpstream } from '../helpers/upstream.js';
import { noticeAbout, sendMail, smtpUpstream, startRelay, waitUntil } from '../helpers/delivery.js';

interface PyPart {
  type: string;
  charset: string | null;
  cte: string | null;
  text?: string;
  blocks?: Record<string, string>[];
}
interface PyMessage {
  subject: string;
  to: string;
  type: string;
  reportType: string | null;
  defects: string[];
  parts: PyPart[];
}

const PYTHON = String.raw`
import email, json, sys
from email import policy
msg = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
def part_of(p):
    d = {'type': p.get_content_type(), 'charset': p.get_content_charset(), 'cte': p.get('Content-Transfer-Encoding')}
    if p.get_content_type() == 'message/delivery-status':
        d['blocks'] = [dict((k, str(v)) for k, v in b.items()) for b in p.get_payload()]
    else:
        d['text'] = p.get_content()
    return d
parts = [part_of(p) for p in msg.iter_parts()] if msg.is_multipart() else [part_of(msg)]
defects = [str(d) for d in msg.defects] + [str(d) for p in msg.walk() for d in p.defects]
print(json.dumps({'subject': str(msg['subject']), 'to': str(msg['to']), 'type': msg.get_content_type(),
                  'reportType': msg.get_param('report-type'), 'defects': defects, 'parts': parts}, ensure_ascii=False))
`;

function parseWithPython(eml: Buffer): PyMessage {
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-eml-'));
  try {
    const file = join(dir, 'message.eml');
    writeFileSync(file, eml);
    const r = spawnSync('python3', ['-c', PYTHON, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as PyMessage;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Japanese block of the human-readable part, as it must decode (the catalogue's own Japanese for 550 5.1.1 filled in). */
function expectedJapanese(host: string, id: string, subject: string, reply: string, ja: { hint: string; fix: string }): string {
  return [
    `${host} のメール中継サーバー (authrelay) からのお知らせです。`,
    '',
    'お送りいただいたメッセージは次の宛先で受け取りを拒否されました。再試行は行いません:',
    '',
    '  <nobody@contoso.com>',
    `    サーバーの応答: ${reply}`,
    `    意味: ${ja.hint}`,
    `    対処方法: ${ja.fix}`,
    '    参照: generic.bad-recipient (authrelay の docs/ja/errors.md)',
    '',
    'このリレーや Microsoft 365 の組織を管理していない方は、この通知を社内の IT 担当者に転送してください。上記の対処方法は管理者向けです。',
    '',
    `キュー ID: ${id}。件名: ${subject}。`,
    `管理者は次のコマンドで再送できます: authrelay queue retry ${id}`,
  ].join('\n');
}

test('notices.language both: the notice and the alert e-mail decode in Python email and mailparser; delivery-status unchanged', async () => {
  const up = await startUpstream();
  const relay = await startRelay({
    upstreams: { relay: smtpUpstream(up.port) },
    // alerts.language is not set: alert e-mails follow notices.language.
    notices: { language: 'both' },
    alerts: { email: { to: 'it@contoso.com' } },
  }).catch(async (err: unknown) => {
    await up.close();
    throw err;
  });
  try {
    const reply = '550 5.1.1 <nobody@contoso.com>: Recipient address rejected: User unknown';
    up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('nobody@') ? { code: 550, message: reply.slice(4) } : undefined);
    const subject = 'スキャン 42 (3F 複合機)';
    const id = await sendMail(relay, { to: ['nobody@contoso.com'], subject });
    const failed = await relay.waitFor(id, ['failed']);
    const ja = failed.lastError?.ja;
    assert.ok(ja?.hint && ja.fix, 'the catalogue explains 550 5.1.1 in Japanese');
    const notice = await noticeAbout(relay, id);
    await relay.waitFor(notice.id, ['delivered']);
    await waitUntil('the notice and the alert e-mail at the upstream', () => up.received.filter((r) => r.from === '').length === 2);
    const noticeMail = up.received.find((r) => r.from === '' && r.to.includes('scanner@contoso.com'))!.data;
    const alertMail = up.received.find((r) => r.from === '' && r.to.includes('it@contoso.com'))!.data;

    // On the wire: 7-bit only, the Subject in encoded words, the text part UTF-8 in base64.
    assert.ok(!/[^\t\r\n\x20-\x7e]/.test(noticeMail.toString('latin1')), 'the notice is 7-bit US-ASCII on the wire');
    const head = noticeMail.toString('latin1').slice(0, noticeMail.indexOf('\r\n\r\n'));
    assert.match(head, /^Subject: =\?UTF-8\?B\?/m);

    const wantSubject = `配信できなかったメール / Undelivered mail: ${subject}`;
    const wantJa = expectedJapanese('relay.test', id, subject, reply, ja as { hint: string; fix: string });

    // Python's email package.
    const py = parseWithPython(noticeMail);
    assert.deepEqual(py.defects, [], 'Python finds no defect');
    assert.equal(py.subject, wantSubject);
    assert.equal(py.type, 'multipart/report');
    assert.equal(py.reportType, 'delivery-status');
    assert.deepEqual(py.parts.map((p) => p.type), ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    const human = py.parts[0]!;
    assert.equal(human.charset, 'utf-8');
    assert.equal(human.cte, 'base64');
    const text = human.text!.replace(/\r\n/g, '\n');
    assert.ok(text.startsWith(`${wantJa}\n`), `the Japanese block first, as expected:\n${text}`);
    assert.match(text, /\nThis is the authrelay mail relay at relay\.test\.\n/);
    assert.match(text, /\n {4}What it means: The upstream says the recipient address does not exist\.\n/);
    assert.ok(text.indexOf('意味:') < text.indexOf('What it means:'));
    // The machine-readable part: the same fields as always, US-ASCII, no transfer encoding.
    const status = py.parts[1]!;
    assert.equal(status.cte, null);
    assert.equal(status.blocks!.length, 2);
    assert.deepEqual(Object.keys(status.blocks![0]!), ['Reporting-MTA', 'X-Authrelay-Queue-ID', 'Arrival-Date']);
    assert.equal(status.blocks![0]!['Reporting-MTA'], 'dns; relay.test');
    assert.equal(status.blocks![0]!['X-Authrelay-Queue-ID'], id);
    assert.deepEqual(Object.keys(status.blocks![1]!), ['Final-Recipient', 'Action', 'Status', 'Diagnostic-Code', 'Last-Attempt-Date']);
    assert.deepEqual({ ...status.blocks![1]!, 'Last-Attempt-Date': '' }, {
      'Final-Recipient': 'rfc822; nobody@contoso.com', Action: 'failed', Status: '5.1.1', 'Diagnostic-Code': `smtp; ${reply}`, 'Last-Attempt-Date': '',
    });
    assert.match(py.parts[2]!.text!, /^Message-ID: <[^>]+@mfp\.contoso\.com>$/m);

    // mailparser.
    const mp = await simpleParser(noticeMail);
    assert.equal(mp.subject, wantSubject);
    assert.ok((mp.text ?? '').replace(/\r\n/g, '\n').startsWith(wantJa), `mailparser's text:\n${mp.text}`);
    assert.match(mp.text ?? '', /What to do: Check the recipient address for typos/);
    // mailparser shows message/delivery-status as text after the human-readable part, and the original headers as an attachment.
    const reportText = (mp.text ?? '').slice((mp.text ?? '').indexOf('Reporting-MTA:'));
    assert.match(reportText, /^Reporting-MTA: dns; relay\.test$/m);
    assert.match(reportText, /^Final-Recipient: rfc822; nobody@contoso\.com$/m);
    assert.match(reportText, /^Action: failed$/m);
    assert.match(reportText, /^Status: 5\.1\.1$/m);
    assert.ok(reportText.includes(`\nDiagnostic-Code: smtp; ${reply}\n`));
    assert.deepEqual(mp.attachments.map((a) => a.contentType), ['text/rfc822-headers']);
    // The alert e-mail: alerts.language absent, so as notices.language (both, Japanese first).
    const pyAlert = parseWithPython(alertMail);
    assert.deepEqual(pyAlert.defects, []);
    const wantAlertSubject = `[authrelay] 警告: メッセージ ${id} を relay 経由で配信できませんでした: ${reply} / ALERT: message ${id} failed via relay: ${reply}`;
    assert.equal(pyAlert.subject, wantAlertSubject);
    assert.equal(pyAlert.parts[0]!.charset, 'utf-8');
    const alertText = pyAlert.parts[0]!.text!.replace(/\r\n/g, '\n');
    assert.ok(alertText.startsWith('メール中継サーバー relay.test で対応が必要です:\n'), alertText);
    assert.ok(alertText.includes(`\n意味: ${ja!.hint}\n`) && alertText.includes(`\n対処方法: ${ja!.fix}\n`));
    assert.match(alertText, /\nThe mail relay relay\.test needs attention:\n/);
    assert.ok(alertText.includes(`retry: authrelay queue retry ${id}`));
    const mpAlert = await simpleParser(alertMail);
    assert.equal(mpAlert.subject, wantAlertSubject);
    assert.equal((mpAlert.text ?? '').replace(/\r\n/g, '\n').trimEnd(), alertText.trimEnd());
  } finally {
    await relay.close();
    await up.close();
  }
});
