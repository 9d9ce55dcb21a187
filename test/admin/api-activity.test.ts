/**
 * /api/v1 activity and search over real HTTP: messages sent in with
 * nodemailer through a relay to a test SMTP upstream (one refused), then the
 * overview's activity buckets (24 h hourly, 7 d six-hourly) and the message
 * search by subject and received time; both refused without a session. Then
 * the same in the console (headless Chromium): the Overview's line chart and
 * its legend in English and Japanese, the Messages form's subject and time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream } from '../helpers/upstream.js';
import { sendMail, smtpUpstream, startRelay } from '../helpers/delivery.js';
import { call, setUpAndSignIn } from './api-client.js';
import { launchBrowser, setUpInBrowser } from '../console/browser.js';

interface Bucket { start: string; accepted: number; delivered: number; failed: number }

const sum = (buckets: Bucket[], k: 'accepted' | 'delivered' | 'failed') => buckets.reduce((n, b) => n + b[k], 0);

test('overview activity and message search by subject and time, through a real relay', async () => {
  const up = await startUpstream();
  up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('nobody@') ? { code: 550, message: '5.1.1 User unknown' } : undefined);
  const relay = await startRelay({ upstreams: { up: smtpUpstream(up.port) }, notices: { toSender: false } });
  try {
    assert.equal((await call(relay, 'GET', '/overview')).status, 401, 'no session, no overview');
    assert.equal((await call(relay, 'GET', '/messages?subject=x')).status, 401, 'no session, no search');
    const auth = await setUpAndSignIn(relay);

    const empty = await call(relay, 'GET', '/overview', { auth });
    assert.equal(empty.status, 200);
    assert.equal(empty.json.activity.range, '24h');
    assert.equal(empty.json.activity.bucketMinutes, 60);
    assert.equal(empty.json.activity.buckets.length, 24);
    assert.equal(sum(empty.json.activity.buckets, 'accepted'), 0);

    const before = Date.now();
    const invoice = await sendMail(relay, { subject: 'Invoice March', to: ['alice@contoso.com'] });
    const scan1 = await sendMail(relay, { subject: 'Scan from MFP-3F', to: ['bob@contoso.com'] });
    const refused = await sendMail(relay, { subject: 'scan to nobody', to: ['nobody@contoso.com'] });
    await relay.waitFor(invoice, ['delivered']);
    await relay.waitFor(scan1, ['delivered']);
    await relay.waitFor(refused, ['failed']);
    const after = Date.now();

    const o = await call(relay, 'GET', '/overview', { auth });
    assert.equal(o.status, 200);
    const buckets = o.json.activity.buckets as Bucket[];
    assert.equal(buckets.length, 24);
    const starts = buckets.map((b) => Date.parse(b.start));
    starts.forEach((s, i) => {
      assert.equal(s % 3_600_000, 0, 'buckets start on whole hours');
      if (i) assert.equal(s - starts[i - 1]!, 3_600_000);
    });
    assert.ok(starts.at(-1)! <= after && after < starts.at(-1)! + 3_600_000, 'the last bucket is the current hour');
    assert.deepEqual([sum(buckets, 'accepted'), sum(buckets, 'delivered'), sum(buckets, 'failed')], [3, 2, 1]);
    const current = buckets.filter((b) => b.accepted > 0);
    assert.ok(current.length >= 1 && current.every((b) => Date.parse(b.start) + 3_600_000 > before), 'counted in the hour they happened');

    const week = await call(relay, 'GET', '/overview?range=7d', { auth });
    assert.equal(week.status, 200);
    assert.equal(week.json.activity.bucketMinutes, 360);
    assert.equal(week.json.activity.buckets.length, 28);
    assert.ok((week.json.activity.buckets as Bucket[]).every((b) => Date.parse(b.start) % (6 * 3_600_000) === 0));
    assert.deepEqual([sum(week.json.activity.buckets, 'accepted'), sum(week.json.activity.buckets, 'delivered'), sum(week.json.activity.buckets, 'failed')], [3, 2, 1]);
    assert.equal((await call(relay, 'GET', '/overview?range=1y', { auth })).status, 400);
    const doc = await call(relay, 'GET', '/openapi.json');
    assert.deepEqual(doc.json.paths['/api/v1/overview'].get.parameters.map((x: { name: string }) => x.name), ['range'], 'the OpenAPI document has the range');

    const ids = async (qs: string) => {
      const r = await call(relay, 'GET', `/messages?${qs}`, { auth });
      assert.equal(r.status, 200, `${qs}: ${JSON.stringify(r.json)}`);
      return (r.json.messages as { id: string }[]).map((m) => m.id).sort();
    };
    assert.deepEqual(await ids('subject=SCAN'), [scan1, refused].sort(), 'subject: substring, any case');
    assert.deepEqual(await ids('subject=invoice'), [invoice]);
    assert.deepEqual(await ids('subject=scan&state=failed'), [refused]);
    assert.deepEqual(await ids('subject=%25'), [], 'a % is taken literally');
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    assert.deepEqual(await ids(`since=${iso(before - 1000)}`), [invoice, scan1, refused].sort());
    assert.deepEqual(await ids(`since=${iso(after + 60_000)}`), []);
    assert.deepEqual(await ids(`until=${iso(before - 1000)}`), []);
    assert.deepEqual(await ids(`since=${iso(before - 1000)}&until=${iso(after)}&subject=mfp`), [scan1]);
    const inv = (await relay.store.get(invoice))!;
    assert.deepEqual(await ids(`since=${iso(inv.receivedAt)}&until=${iso(inv.receivedAt)}`).then((l) => l.includes(invoice)), true, 'since and until include their bounds');
    assert.equal((await call(relay, 'GET', '/messages?since=yesterday', { auth })).status, 400);
    assert.equal((await call(relay, 'GET', `/messages?subject=${'x'.repeat(501)}`, { auth })).status, 400);
  } finally {
    await relay.close();
    await up.close();
  }
});

test('console: the Overview draws activity over time with a legend in both languages; Messages searches by subject and time', async () => {
  const up = await startUpstream();
  up.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.startsWith('nobody@') ? { code: 550, message: '5.1.1 User unknown' } : undefined);
  const relay = await startRelay({ upstreams: { up: smtpUpstream(up.port) }, notices: { toSender: false } });
  const browser = await launchBrowser();
  try {
    const ok = await sendMail(relay, { subject: 'Weekly scan', to: ['alice@contoso.com'] });
    const bad = await sendMail(relay, { subject: 'Invoice copy', to: ['nobody@contoso.com'] });
    await relay.waitFor(ok, ['delivered']);
    await relay.waitFor(bad, ['failed']);

    const ctx = await browser.context('en-GB');
    const page = await ctx.newPage();
    await setUpInBrowser(page, relay);
    const chart = page.locator('#activity-chart');
    await chart.waitFor();
    assert.equal(await chart.getAttribute('data-buckets'), '24');
    assert.equal(await chart.locator('polyline.series').count(), 3, 'one line each for accepted, delivered, failed');
    const legend = await chart.locator('g.legend text').allTextContents();
    assert.deepEqual(legend, ['Accepted (2)', 'Delivered (1)', 'Failed (1)']);
    assert.equal(await chart.getAttribute('aria-label'), 'In this period: 2 accepted, 1 delivered, 1 failed');
    const points = (await chart.locator('polyline[data-series="accepted"]').getAttribute('points'))!.split(' ');
    assert.equal(points.length, 24);
    const ys = points.map((p) => Number(p.split(',')[1]));
    assert.ok(ys.at(-1)! < ys[0]!, 'the current hour stands above the empty hours');
    assert.equal(await page.locator('#overview-chart rect').count(), 3, 'the chart of counts now is still there');

    await page.click('#range-7d');
    await page.waitForURL(/#\/overview\?range=7d/);
    await page.locator('#activity-chart[data-buckets="28"]').waitFor();
    assert.deepEqual(await page.locator('#activity-chart g.legend text').allTextContents(), ['Accepted (2)', 'Delivered (1)', 'Failed (1)']);

    await page.selectOption('#lang', 'ja');
    await page.locator('#activity-chart g.legend text', { hasText: '受付' }).waitFor();
    assert.deepEqual(await page.locator('#activity-chart g.legend text').allTextContents(), ['受付 (2)', '配送済み (1)', '失敗 (1)']);
    assert.equal(await page.locator('h2', { hasText: '受付・配送・失敗の推移' }).count(), 1);
    await page.selectOption('#lang', 'en');
    await page.locator('#activity-chart g.legend text', { hasText: 'Accepted' }).waitFor();

    await page.goto(relay.adminUrl('/#/messages'));
    await page.locator(`#message-list tr[data-id="${bad}"]`).waitFor();
    await page.fill('#search-subject', 'SCAN');
    await page.click('#search-form button[type=submit]');
    await page.waitForURL(/subject=SCAN/);
    await page.locator(`#message-list tr[data-id="${ok}"]`).waitFor();
    assert.equal(await page.locator('#message-list tr[data-id]').count(), 1, 'only the message whose subject has "scan"');

    // Time fields are local time to the minute, like the browser's own picker.
    const local = (ms: number) => page.evaluate((t) => {
      const d = new Date(t);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    }, ms);
    const received = (await relay.store.get(ok))!.receivedAt;
    await page.fill('#search-subject', '');
    await page.fill('#search-since', await local(received + 120_000));
    await page.click('#search-form button[type=submit]');
    await page.locator('#message-results', { hasText: 'No messages match' }).waitFor();
    await page.fill('#search-since', await local(received - 120_000));
    await page.fill('#search-until', await local(received));
    await page.click('#search-form button[type=submit]');
    await page.waitForURL(/until=/);
    await page.locator(`#message-list tr[data-id="${ok}"]`).waitFor();
    await page.locator(`#message-list tr[data-id="${bad}"]`).waitFor();
    assert.equal(await page.locator('#search-until').inputValue(), await local(received), 'the form keeps the search');
    await ctx.close();
  } finally {
    await browser.close();
    await relay.close();
    await up.close();
  }
});
