/**
 * What `authrelay send-test` prints at each step, in English and Japanese
 * (the same {placeholders} in both): the test through the running relay
 * (cli/commands/send-test.ts) and the test straight through one upstream
 * (send-test-route.ts, also the console's "send a test" of an upstream).
 * Upstream answers, addresses and protocol traces are shown as they are.
 */
import type { Text } from '../core/i18n.js';

export const SEND_TEST_TEXT = {
  // send-test --route
  noUpstream: { en: 'no upstream named "{name}"; configured: {names}', ja: '"{name}" という名前のアップストリームはありません。設定済み: {names}' },
  noUpstreamNone: { en: 'no upstream named "{name}"; none is configured', ja: '"{name}" という名前のアップストリームはありません。アップストリームが 1 つも設定されていません' },
  routeStart: {
    en: 'route {route}: {type} upstream; test message from {from} to {to} ({bytes} bytes)',
    ja: 'ルート {route}: {type} アップストリーム。テスト メッセージの送信者 {from}、宛先 {to} ({bytes} バイト)',
  },
  accepted: { en: '{recipient}: accepted by the upstream', ja: '{recipient}: アップストリームが受け付けました' },
  acceptedSaid: { en: '{recipient}: accepted by the upstream: {response}', ja: '{recipient}: アップストリームが受け付けました: {response}' },
  wouldRetry: { en: 'not sent (would be retried)', ja: '送信されませんでした (キューでは再試行されます)' },
  held: { en: 'held', ja: '保留されました' },
  refused: { en: 'refused', ja: '拒否されました' },
  meaning: { en: '  what it means: {hint}', ja: '  意味: {hint}' },
  whatToDo: { en: '  what to do: {fix}', ja: '  対処: {fix}' },
  reference: { en: '  reference: {ref} (docs/errors.md)', ja: '  参照: {ref} (docs/ja/errors.md)' },
  noFix: {
    en: 'Read the upstream\'s answer above and look in its log at this time; docs/errors.md explains the answers the relay knows.',
    ja: '上に示したアップストリームの応答を読み、この時刻のアップストリームのログを確認してください。リレーが知っている応答の意味は docs/ja/errors.md で説明しています。',
  },
  possibleDuplicate: {
    en: '  the upstream may have taken it although it did not confirm; look in the recipient mailbox before sending again',
    ja: '  アップストリームは受け付けを確認していませんが、受け取った可能性があります。もう一度送る前に宛先のメールボックスを確認してください',
  },
  routeWorks: { en: 'the route works: the upstream accepted the test message', ja: 'ルートは動作しています: アップストリームがテスト メッセージを受け付けました' },
  couldNotSend: { en: 'the test could not be sent: {message}', ja: 'テストを送信できませんでした: {message}' },

  // send-test through the running relay
  connectingAs: { en: 'connecting to {host}:{port} ({tls}) as {user}', ja: '{host}:{port} ({tls}) に {user} として接続しています' },
  connectingTrusted: {
    en: 'connecting to {host}:{port} ({tls}) without AUTH (trusted address)',
    ja: '{host}:{port} ({tls}) に AUTH なしで接続しています (信頼済みのアドレス)',
  },
  proxyNote: {
    en: 'note: listener {name} has proxyProtocol: it refuses connections that do not come from a trusted proxy with a PROXY header. Add a listener without proxyProtocol on 127.0.0.1 for local tools, or send through the load balancer with --host/--port',
    ja: '注意: リスナー {name} は proxyProtocol を使うため、PROXY ヘッダーを付けた信頼済みプロキシ以外からの接続を拒否します。ローカルのツール用に proxyProtocol のないリスナーを 127.0.0.1 に追加するか、`--host`/`--port` を指定してロード バランサー経由で送信してください',
  },
  relayAnswered: { en: 'relay answered: {response}', ja: 'リレーの応答: {response}' },
  relayRefused: { en: 'the relay refused the test message: {response}', ja: 'リレーがテスト メッセージを拒否しました: {response}' },
  delivered: { en: 'delivered ({time})', ja: '配送されました ({time})' },
  ended: { en: '{state}; see: authrelay queue show {id}', ja: '{state}。詳しくは次のコマンドで確認できます: authrelay queue show {id}' },
  stillWaiting: {
    en: 'still {state} after {wait}; see: authrelay queue show {id}',
    ja: '{wait} たっても {state} のままです。詳しくは次のコマンドで確認できます: authrelay queue show {id}',
  },
  unknownState: { en: 'unknown', ja: '不明' },

  // The step names of a route's trace (the words of the upstream, the protocol lines and the values after them stay as they are).
  'trace.connect': { en: 'connect', ja: '接続' },
  'trace.tls': { en: 'tls', ja: 'TLS の確立' },
  'trace.token': { en: 'token', ja: 'トークン' },
  'trace.mailbox': { en: 'mailbox', ja: 'メールボックス' },
  'trace.prepared': { en: 'prepared', ja: '準備完了' },
  'trace.large': { en: 'large', ja: '大きなメッセージ' },
  'trace.throttled': { en: 'throttled', ja: 'スロットリング' },
  'trace.waited for Retry-After': { en: 'waited for Retry-After', ja: 'Retry-After の時間だけ待機' },
  'trace.request': { en: 'request', ja: '要求' },
  'trace.response': { en: 'response', ja: '応答' },
  'trace.auth': { en: 'auth', ja: '認証' },
  'trace.refused': { en: 'refused', ja: '拒否' },
  'trace.accepted': { en: 'accepted', ja: '受け付け' },
  'trace.smtp-client': { en: 'smtp-client', ja: 'SMTP 送信' },
  'trace.smtp-server': { en: 'smtp-server', ja: 'SMTP 応答' },
  'trace.paced': { en: 'paced', ja: '送信ペースの調整' },
  'trace.reuse': { en: 'reuse', ja: '接続を再利用' },
  'trace.recipients': { en: 'recipients', ja: '宛先' },
  'trace.mx': { en: 'mx', ja: 'MX の検索' },
} satisfies Record<string, Text>;
