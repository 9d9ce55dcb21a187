/**
 * Catalogue entries for Microsoft Graph mail answers (sendMail, the draft and
 * upload-session path, sending a draft). Errors a Graph body carries as
 * {"error":{"code","message"}}; the examples follow Microsoft's Graph docs
 * and answers quoted in public reports (see docs/errors.md).
 * Order matters: the first entry that matches explains the answer.
 */
import type { GraphEntry } from './catalogue-types.js';

const GRANT_MAIL_SEND = 'In Entra admin center → App registrations → <appId> → API permissions → Add a permission → Microsoft Graph → Application permissions → Mail.Send → Grant admin consent for <tenant>. (With RBAC for Applications instead: New-ManagementRoleAssignment -Role "Application Mail.Send" -App <appId> -CustomResourceScope <scope name>.) Tokens already issued keep the old permissions for up to an hour.';
const JA_GRANT_MAIL_SEND = 'Microsoft Entra 管理センターで [アプリの登録] → <appId> → [API のアクセス許可] → [アクセス許可の追加] → [Microsoft Graph] → [アプリケーションの許可] → Mail.Send を選び、[<tenant> に管理者の同意を与えます] を選択します。(アプリケーションの RBAC の場合: New-ManagementRoleAssignment -Role "Application Mail.Send" -App <appId> -CustomResourceScope <scope name>。) 発行済みのトークンには、最大 1 時間は以前のアクセス許可が残ります。';

function entry(e: Omit<GraphEntry, 'source'>): GraphEntry {
  return { source: 'graph', ...e };
}

export const GRAPH_ENTRIES: readonly GraphEntry[] = [
  entry({
    ref: 'graph.ErrorAccessDenied.access-policy', action: 'fail', scope: 'message', category: 'permission',
    match: { status: 403, code: 'ErrorAccessDenied', message: /Access to OData is disabled/i },
    example: { status: 403, code: 'ErrorAccessDenied', message: 'Access to OData is disabled.' },
    hint: 'The app may send mail, but an Application Access Policy or an RBAC for Applications scope leaves out the mailbox <mailbox>.',
    fix: 'In Exchange Online PowerShell run: Test-ApplicationAccessPolicy -Identity <mailbox> -AppId <appId>; then add <mailbox> to the group the policy names (Add-DistributionGroupMember), or with RBAC widen the management scope (Test-ServicePrincipalAuthorization -Identity <appId> -Resource <mailbox>). Changes can take an hour to apply.',
    ja: {
      hint: 'アプリにはメールの送信が許可されていますが、アプリケーション アクセス ポリシーまたはアプリケーションの RBAC の管理スコープに、メールボックス <mailbox> が含まれていません。',
      fix: 'Exchange Online PowerShell で Test-ApplicationAccessPolicy -Identity <mailbox> -AppId <appId> を実行し、ポリシーが指定するグループに <mailbox> を追加します (Add-DistributionGroupMember)。アプリケーションの RBAC の場合は管理スコープを広げます (Test-ServicePrincipalAuthorization -Identity <appId> -Resource <mailbox>)。変更の反映には 1 時間ほどかかることがあります。',
    },
  }),
  entry({
    ref: 'graph.ErrorAccessDenied.Mail.ReadWrite', action: 'fail', scope: 'message', category: 'permission',
    match: { status: 403, operation: 'draft', code: /^(ErrorAccessDenied|Authorization_RequestDenied)$/ },
    example: { status: 403, operation: 'draft', code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' },
    hint: 'Large messages go out as a draft with uploaded attachments, which needs the Mail.ReadWrite permission the app does not have; smaller messages still go.',
    fix: 'In Entra admin center → App registrations → <appId> → API permissions → Add a permission → Microsoft Graph → Application permissions → Mail.ReadWrite → Grant admin consent for <tenant>. (With RBAC for Applications: New-ManagementRoleAssignment -Role "Application Mail.ReadWrite" -App <appId> -CustomResourceScope <scope name>.)',
    ja: {
      hint: '大きなメッセージは、添付ファイルをアップロードした下書きとして送信します。これには Mail.ReadWrite アクセス許可が必要ですが、アプリにはありません。小さなメッセージは引き続き送信されます。',
      fix: 'Microsoft Entra 管理センターで [アプリの登録] → <appId> → [API のアクセス許可] → [アクセス許可の追加] → [Microsoft Graph] → [アプリケーションの許可] → Mail.ReadWrite を選び、[<tenant> に管理者の同意を与えます] を選択します。(アプリケーションの RBAC の場合: New-ManagementRoleAssignment -Role "Application Mail.ReadWrite" -App <appId> -CustomResourceScope <scope name>。)',
    },
  }),
  entry({
    ref: 'graph.ErrorAccessDenied', action: 'fail', scope: 'message', category: 'permission',
    match: { status: 403, code: /^(ErrorAccessDenied|Authorization_RequestDenied|AccessDenied)$/ },
    example: { status: 403, code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' },
    hint: 'The app is not allowed to send mail: it lacks the Microsoft Graph application permission Mail.Send (or admin consent for it).',
    fix: GRANT_MAIL_SEND,
    ja: {
      hint: 'アプリにメールの送信が許可されていません。Microsoft Graph のアプリケーションのアクセス許可 Mail.Send (またはその管理者の同意) がありません。',
      fix: JA_GRANT_MAIL_SEND,
    },
  }),
  entry({
    ref: 'graph.ErrorSendAsDenied', action: 'fail', scope: 'message', category: 'sender',
    match: { code: 'ErrorSendAsDenied' },
    example: { status: 403, code: 'ErrorSendAsDenied', message: 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account. Cannot submit message.' },
    hint: 'The message\'s From address is not the mailbox the relay sends as (<mailbox>), and that mailbox has no right to send as that address.',
    fix: 'Either let the device send as <mailbox> (the device\'s sendAs or the route\'s mailbox), or grant the right in Exchange Online PowerShell: Add-RecipientPermission -Identity <From address> -Trustee <mailbox> -AccessRights SendAs. A display name containing "@" also causes this; remove it from the device\'s sender name.',
    ja: {
      hint: 'メッセージの差出人 (From) アドレスが、リレーが送信に使うメールボックス (<mailbox>) ではなく、そのメールボックスにはそのアドレスの「送信者として送信」権限がありません。',
      fix: 'デバイスが <mailbox> として送信するようにする (デバイスの sendAs またはルートの mailbox) か、Exchange Online PowerShell で権限を付与します: Add-RecipientPermission -Identity <From address> -Trustee <mailbox> -AccessRights SendAs。表示名に "@" が含まれている場合もこのエラーになります。デバイスの送信者名から削除してください。',
    },
  }),
  entry({
    ref: 'graph.MailboxNotEnabledForRESTAPI', action: 'fail', scope: 'message', category: 'mailbox',
    match: { code: /^MailboxNotEnabledForRESTAPI$/i },
    example: { status: 404, code: 'MailboxNotEnabledForRESTAPI', message: 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.' },
    hint: 'The mailbox <mailbox> cannot be used through Graph: it has no Exchange Online licence, is disabled or deleted, is a guest, or lives on an on-premises Exchange server.',
    fix: 'In Microsoft 365 admin center → Users → <mailbox> → Licenses and apps, assign a licence that includes Exchange Online (a shared mailbox needs none), or send as a mailbox hosted in Exchange Online.',
    ja: {
      hint: 'メールボックス <mailbox> は Graph から使えません。Exchange Online のライセンスがない、無効または削除されている、ゲストである、またはオンプレミスの Exchange サーバーにある、のいずれかです。',
      fix: 'Microsoft 365 管理センターの [ユーザー] → [アクティブなユーザー] → <mailbox> → [ライセンスとアプリ] で、Exchange Online を含むライセンスを割り当てます (共有メールボックスには不要です)。または、Exchange Online にあるメールボックスとして送信します。',
    },
  }),
  entry({
    ref: 'graph.ErrorItemNotFound', action: 'retry', scope: 'message', category: 'draft',
    match: { code: 'ErrorItemNotFound' },
    example: { status: 404, operation: 'send-draft', code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' },
    hint: 'The draft the relay had just created in <mailbox> was not found when sending it (a brief store delay, or a rule or retention policy moved it).',
    fix: 'Usually passes on the next try. If it lasts, check that no inbox rule or retention policy of <mailbox> moves or deletes drafts, and that the app has Mail.ReadWrite.',
    ja: {
      hint: 'リレーが <mailbox> に作成したばかりの下書きが、送信時に見つかりませんでした (ストアの一時的な遅延、またはルールやアイテム保持ポリシーによる移動)。',
      fix: '通常は次の試行で解消します。続く場合は、<mailbox> の受信トレイ ルールやアイテム保持ポリシーが下書きを移動または削除していないこと、アプリに Mail.ReadWrite があることを確認してください。',
    },
  }),
  entry({
    ref: 'graph.ErrorInvalidUser', action: 'fail', scope: 'message', category: 'mailbox',
    match: { code: /^(ErrorInvalidUser|ResourceNotFound|Request_ResourceNotFound|ErrorNonExistentMailbox)$/ },
    example: { status: 404, code: 'ErrorInvalidUser', message: "The requested user 'scanner@contoso.com' is invalid." },
    hint: 'The sending mailbox <mailbox> does not exist in this tenant (a typo, a removed user, or an address that is only an alias of another mailbox).',
    fix: 'Set the device\'s sendAs or the route\'s mailbox to an existing mailbox\'s primary address (Microsoft 365 admin center → Users → Active users, or Get-Mailbox <mailbox>).',
    ja: {
      hint: '送信元のメールボックス <mailbox> がこのテナントに存在しません (入力ミス、削除されたユーザー、または別のメールボックスのエイリアスにすぎないアドレス)。',
      fix: 'デバイスの sendAs またはルートの mailbox に、存在するメールボックスのプライマリ アドレスを設定します (Microsoft 365 管理センター → [ユーザー] → [アクティブなユーザー]、または Get-Mailbox <mailbox>)。',
    },
  }),
  entry({
    ref: 'graph.ErrorInvalidRecipients', action: 'fail', scope: 'message', category: 'bad-recipient',
    match: { code: 'ErrorInvalidRecipients' },
    example: { status: 400, code: 'ErrorInvalidRecipients', message: "At least one recipient is not valid., A message can't be sent because it contains no recipients." },
    hint: 'Microsoft refused the recipients: an address is malformed or the message has none Graph can read.',
    fix: 'Check the recipient addresses the device sent; if they look right, report it with this reply as a relay bug.',
    ja: {
      hint: 'Microsoft が受信者を拒否しました。アドレスの形式が正しくないか、Graph が読み取れる受信者がメッセージにありません。',
      fix: 'デバイスが送信した受信者のアドレスを確認してください。正しく見える場合は、この応答を添えてリレーの不具合として報告してください。',
    },
  }),
  entry({
    ref: 'graph.ErrorMessageSizeExceeded', action: 'fail', scope: 'message', category: 'too-big',
    match: { code: 'ErrorMessageSizeExceeded' },
    example: { status: 400, code: 'ErrorMessageSizeExceeded', message: 'The message exceeds the maximum supported size.' },
    hint: 'The message is larger than <mailbox> may send (35 MB by default in Exchange Online).',
    fix: 'Raise the limit in Exchange Online PowerShell: Set-Mailbox -Identity <mailbox> -MaxSendSize 150MB (and the recipient\'s MaxReceiveSize), or lower the device\'s scan resolution or attachment size; then: authrelay queue retry <queue id>.',
    ja: {
      hint: 'メッセージが、<mailbox> で送信できるサイズ (Exchange Online の既定では 35 MB) を超えています。',
      fix: 'Exchange Online PowerShell で上限を引き上げる (Set-Mailbox -Identity <mailbox> -MaxSendSize 150MB、受信者側の MaxReceiveSize も) か、デバイスのスキャン解像度や添付ファイルのサイズを下げます。その後、authrelay queue retry <queue id> を実行します。',
    },
  }),
  entry({
    ref: 'graph.413', action: 'fail', scope: 'message', category: 'relay-bug',
    match: { status: 413 },
    example: { status: 413 },
    hint: 'A single Graph request was larger than Microsoft accepts (4 MB); the relay should have split it into an upload session.',
    fix: 'Report it as a relay bug with this reply and the message size (authrelay queue show <queue id>); the message stays in the queue for authrelay queue retry once fixed.',
    ja: {
      hint: '1 回の Graph 要求が、Microsoft が受け付けるサイズ (4 MB) を超えていました。本来はリレーがアップロード セッションに分割するべきものです。',
      fix: 'この応答とメッセージのサイズ (authrelay queue show <queue id>) を添えて、リレーの不具合として報告してください。修正後に authrelay queue retry で送り直せるよう、メッセージはキューに残ります。',
    },
  }),
  entry({
    ref: 'graph.BadRequest.maximum-request-length', action: 'fail', scope: 'message', category: 'relay-bug',
    match: { status: 400, message: /maximum request length/i },
    example: { status: 400, code: 'BadRequest', message: 'The maximum request length supported is 4MB.' },
    hint: 'A single Graph request was larger than Microsoft accepts (4 MB); the relay should have split it into an upload session.',
    fix: 'Report it as a relay bug with this reply and the message size (authrelay queue show <queue id>); the message stays in the queue for authrelay queue retry once fixed.',
    ja: {
      hint: '1 回の Graph 要求が、Microsoft が受け付けるサイズ (4 MB) を超えていました。本来はリレーがアップロード セッションに分割するべきものです。',
      fix: 'この応答とメッセージのサイズ (authrelay queue show <queue id>) を添えて、リレーの不具合として報告してください。修正後に authrelay queue retry で送り直せるよう、メッセージはキューに残ります。',
    },
  }),
  entry({
    ref: 'graph.ErrorMimeContentInvalidBase64String', action: 'fail', scope: 'message', category: 'relay-bug',
    match: { code: 'ErrorMimeContentInvalidBase64String' },
    example: { status: 400, code: 'ErrorMimeContentInvalidBase64String', message: 'Invalid base64 string for MIME content.' },
    hint: 'Graph could not read the message the relay sent (its base64 encoding was broken); this is a relay fault, not the device\'s.',
    fix: 'Report it as a relay bug with this reply; the message stays in the queue for authrelay queue retry <queue id> once fixed.',
    ja: {
      hint: 'リレーが送信したメッセージを Graph が読み取れませんでした (base64 エンコードが壊れていました)。デバイスではなく、リレーの不具合です。',
      fix: 'この応答を添えて、リレーの不具合として報告してください。修正後に authrelay queue retry <queue id> で送り直せるよう、メッセージはキューに残ります。',
    },
  }),
  entry({
    ref: 'graph.ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', action: 'fail', scope: 'message', category: 'relay-bug',
    match: { code: 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize' },
    example: { status: 400, code: 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', message: 'Attachment size must be greater than the minimum size.' },
    hint: 'The relay opened an upload session for an attachment under 3 MB, which Graph refuses; small attachments must be sent inline.',
    fix: 'Report it as a relay bug with this reply; the message stays in the queue for authrelay queue retry <queue id> once fixed.',
    ja: {
      hint: 'リレーが 3 MB 未満の添付ファイルにアップロード セッションを開いたため、Graph が拒否しました。小さな添付ファイルはメッセージに含めて送信する必要があります。',
      fix: 'この応答を添えて、リレーの不具合として報告してください。修正後に authrelay queue retry <queue id> で送り直せるよう、メッセージはキューに残ります。',
    },
  }),
  entry({
    ref: 'graph.InvalidAuthenticationToken', action: 'retry', scope: 'destination', category: 'auth',
    match: { status: 401 },
    example: { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token has expired or is not yet valid.' },
    hint: 'Graph did not accept the access token (expired, for another resource, or from another cloud than this Graph endpoint).',
    fix: 'Check that the route\'s cloud (and endpoints, if set) match the tenant\'s cloud, and that the machine\'s clock is right (tokens are time-limited); the relay fetches a new token on the next try.',
    ja: {
      hint: 'Graph がアクセス トークンを受け付けませんでした (有効期限切れ、別のリソース用、またはこの Graph エンドポイントとは別のクラウドのトークン)。',
      fix: 'ルートの cloud (設定している場合は endpoints も) がテナントのクラウドと一致していること、マシンの時刻が正しいこと (トークンには有効期限があります) を確認してください。リレーは次の試行で新しいトークンを取得します。',
    },
  }),
  entry({
    ref: 'graph.ErrorQuotaExceeded', action: 'retry', scope: 'message', category: 'mailbox-full',
    match: { code: /^(ErrorQuotaExceeded|ErrorQuotaExceededOnDelete)$/ },
    example: { status: 507, code: 'ErrorQuotaExceeded', message: 'Mailbox has exceeded maximum mailbox size.' },
    hint: 'The sending mailbox <mailbox> is full, so Exchange cannot store the outgoing message or its Sent Items copy.',
    fix: 'Free space in <mailbox> (empty Sent Items and Deleted Items, or an archive policy), or raise its quota: Set-Mailbox -Identity <mailbox> -ProhibitSendQuota 99GB -ProhibitSendReceiveQuota 100GB.',
    ja: {
      hint: '送信元のメールボックス <mailbox> がいっぱいのため、Exchange が送信するメッセージやその送信済みアイテムのコピーを保存できません。',
      fix: '<mailbox> の空き容量を増やす (送信済みアイテムと削除済みアイテムを空にする、またはアーカイブ ポリシーを使う) か、クォータを引き上げます: Set-Mailbox -Identity <mailbox> -ProhibitSendQuota 99GB -ProhibitSendReceiveQuota 100GB。',
    },
  }),
  entry({
    ref: 'graph.ErrorSubmissionQuotaExceeded', action: 'retry', scope: 'message', category: 'quota', retryAfterMs: 24 * 3_600_000,
    match: { code: 'ErrorSubmissionQuotaExceeded' },
    example: { status: 403, code: 'ErrorSubmissionQuotaExceeded', message: "The message couldn't be sent because the sender's submission quota was exceeded. Please try again later." },
    hint: 'The mailbox <mailbox> has reached Exchange Online\'s sending limit (10,000 recipients in any 24 hours); nothing is sent as it, from any route, until the 24 hours have passed.',
    fix: 'Wait: the limit counts a rolling 24 hours. Keep the route\'s recipientsPerDay below what the mailbox really has left (people sending from it count too), spread devices over more mailboxes, or add a fallback upstream to the route (use: [this, another]).',
    ja: {
      hint: 'メールボックス <mailbox> が Exchange Online の送信制限 (24 時間で 10,000 受信者) に達しました。24 時間が経過するまで、どのルートからもこのメールボックスとしては送信されません。',
      fix: 'そのまま待ちます。制限は直近 24 時間の累計です。ルートの recipientsPerDay を、メールボックスに実際に残っている数 (このメールボックスから人が送る分も数えられます) より低く保つか、デバイスを複数のメールボックスに分けるか、ルートにフォールバックのアップストリームを追加します (use: [this, another])。',
    },
  }),
  entry({
    ref: 'graph.ApplicationThrottled', action: 'retry', scope: 'message', category: 'throttled',
    match: { status: 429 },
    example: { status: 429, code: 'ApplicationThrottled', message: 'Application is over its MailboxConcurrency limit.' },
    hint: 'Microsoft is throttling this app for <mailbox> (4 requests at once and 10,000 per 10 minutes per mailbox); the relay waits as told and tries again.',
    fix: 'Nothing to do if it passes. If it lasts, lower the route\'s mailboxConcurrency, or spread devices over more sending mailboxes.',
    ja: {
      hint: 'Microsoft が <mailbox> に対するこのアプリの要求を調整 (スロットル) しています (メールボックスあたり同時に 4 要求、10 分間に 10,000 要求まで)。リレーは指示された時間だけ待ってから再試行します。',
      fix: '解消すれば対処は不要です。続く場合は、ルートの mailboxConcurrency を下げるか、デバイスを複数の送信元メールボックスに分けてください。',
    },
  }),
  entry({
    ref: 'graph.ServiceUnavailable', action: 'retry', scope: 'destination', category: 'unavailable',
    match: { status: 503 },
    example: { status: 503, code: 'ResourceUnhealthy', message: 'MdbReplicationProtectionUtilizationMonitor is unhealthy.' },
    hint: 'Exchange Online is busy or unhealthy right now; the relay pauses the route and tries again.',
    fix: 'Nothing to do if it passes; if it lasts, check Microsoft 365 admin center → Health → Service health → Exchange Online.',
    ja: {
      hint: 'Exchange Online が現在混雑しているか、正常に動作していません。リレーはルートを一時停止し、後で再試行します。',
      fix: '解消すれば対処は不要です。続く場合は、Microsoft 365 管理センター → [正常性] → [サービス正常性] → Exchange Online を確認してください。',
    },
  }),
  entry({
    ref: 'graph.GatewayTimeout', action: 'retry', scope: 'message', category: 'timeout',
    match: { status: 504 },
    example: { status: 504, code: 'UnknownError', message: '' },
    hint: 'Graph took too long to answer; the message may have gone out anyway, so a retry can deliver it twice.',
    fix: 'Nothing to do if it passes; if it happens often, check Microsoft 365 admin center → Health → Service health, and the size of the messages.',
    ja: {
      hint: 'Graph の応答に時間がかかりすぎました。メッセージは実際には送信されている可能性があるため、再試行で 2 通届くことがあります。',
      fix: '解消すれば対処は不要です。頻繁に起きる場合は、Microsoft 365 管理センター → [正常性] → [サービス正常性] と、メッセージのサイズを確認してください。',
    },
  }),
  entry({
    ref: 'graph.server-error', action: 'retry', scope: 'message', category: 'unavailable',
    match: { status: [500, 502] },
    example: { status: 500, code: 'ErrorInternalServerError', message: 'An internal server error occurred. The operation failed.' },
    hint: 'Microsoft Graph had an internal error; the relay tries again later.',
    fix: 'Nothing to do if it passes; if it lasts for this message only, look at it with authrelay queue show <queue id> and report the reply.',
    ja: {
      hint: 'Microsoft Graph で内部エラーが発生しました。リレーは後で再試行します。',
      fix: '解消すれば対処は不要です。このメッセージだけで続く場合は、authrelay queue show <queue id> で確認し、応答を報告してください。',
    },
  }),
];
