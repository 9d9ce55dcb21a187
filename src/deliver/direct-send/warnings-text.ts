/**
 * What an administrator must know before relying on Direct Send (the
 * sentences of warnings.ts), in English and Japanese, for the faces that a
 * person reads: `doctor` and the setup wizard's live test (terminal and
 * console). The relay's own log keeps the English sentences of warnings.ts.
 */
import { fill, type Text } from '../../core/i18n.js';
import { acceptedDomainsOf } from './warnings.js';
import { isMicrosoftMx, parseHostPort } from './mx.js';
import type { DirectSendUpstreamConfig } from '../../config/schema.js';

export const DIRECT_SEND_TEXT = {
  spf: {
    en: 'Direct Send to {domain}: the SPF record of every sender domain must include this site\'s public IP address, e.g. "v=spf1 ip4:<your public IP> include:spf.protection.outlook.com -all"; without it Microsoft 365 treats the mail as spoofed (junk or rejected).',
    ja: '{domain} への Direct Send: すべての送信者ドメインの SPF レコードに、このサイトのパブリック IP アドレスを含める必要があります (例: "v=spf1 ip4:<your public IP> include:spf.protection.outlook.com -all")。含まれていないと、Microsoft 365 はメールをなりすましとして扱います (迷惑メールになるか拒否されます)。',
  },
  rejectDirectSend: {
    en: 'Direct Send is refused with "550 5.7.68 TenantInboundAttribution" when the tenant has Set-OrganizationConfig -RejectDirectSend $true: add an inbound connector for this site\'s IP address, or send through a graph or smtp-oauth upstream instead.',
    ja: 'テナントで `Set-OrganizationConfig -RejectDirectSend $true` が設定されていると、Direct Send は "550 5.7.68 TenantInboundAttribution" で拒否されます。このサイトの IP アドレス用の受信コネクタを追加するか、代わりに graph または smtp-oauth のアップストリームで送信してください。',
  },
  anonymous: {
    en: 'Direct Send mail is anonymous: Exchange Online Protection spam-filters it like mail from the internet, and it may land in Junk.',
    ja: 'Direct Send のメールは匿名です。Exchange Online Protection はインターネットからのメールと同じようにスパム フィルターにかけるため、迷惑メール フォルダーに入ることがあります。',
  },
  internalOnly: {
    en: 'Direct Send reaches only mailboxes in your own Microsoft 365 domains ({domains}, exact domain match); other recipients fail with "not-internal": route them to a graph, smtp-oauth or smtp upstream with routes: - when: { recipientDomain: [...] }.',
    ja: 'Direct Send で届くのは、自組織の Microsoft 365 ドメイン ({domains}、ドメインが完全に一致するもの) のメールボックスだけです。それ以外の宛先は "not-internal" で失敗します。`routes: - when: { recipientDomain: [...] }` で graph、smtp-oauth または smtp のアップストリームに振り分けてください。',
  },
  foreignConfiguredMx: {
    en: 'mx is set to {mx}, which is not a *.mail.protection.outlook.com host: Direct Send normally goes to Microsoft\'s MX host for {domain}.',
    ja: 'mx に {mx} が設定されていますが、これは *.mail.protection.outlook.com のホストではありません。Direct Send の送信先は通常、{domain} 用の Microsoft の MX ホストです。',
  },
  tlsWhenOffered: {
    en: 'TLS is used whenever the MX host offers STARTTLS (Microsoft always does); set requireTls: true to never send in the clear.',
    ja: 'MX ホストが STARTTLS を提供していれば TLS を使います (Microsoft は常に提供しています)。暗号化せずに送信しないようにするには requireTls: true を設定してください。',
  },
  foreignMx: {
    en: 'The MX host of {domain} is {host}, not a *.mail.protection.outlook.com host: a gateway in front of Microsoft 365 receives this mail, so it is not Direct Send (the gateway\'s own rules apply). Set mx to the Microsoft host (<domain-with-dashes>.mail.protection.outlook.com) to reach Microsoft 365 directly.',
    ja: '{domain} の MX ホストは {host} で、*.mail.protection.outlook.com のホストではありません。Microsoft 365 の手前にあるゲートウェイがこのメールを受け取るため、Direct Send にはなりません (ゲートウェイ側のルールが適用されます)。Microsoft 365 に直接届けるには、mx に Microsoft のホスト (<domain-with-dashes>.mail.protection.outlook.com) を設定してください。',
  },
} satisfies Record<string, Text>;

const T = DIRECT_SEND_TEXT;

function both(text: Text, values: Record<string, string>): Text {
  return { en: fill(text.en, values), ja: fill(text.ja, values) };
}

/** warnings.ts's directSendWarnings(), in both languages, in the same order. */
export function directSendWarningTexts(cfg: Pick<DirectSendUpstreamConfig, 'domain' | 'acceptedDomains' | 'mx' | 'requireTls'>): Text[] {
  const out = [
    both(T.spf, { domain: cfg.domain }),
    T.rejectDirectSend,
    T.anonymous,
    both(T.internalOnly, { domains: acceptedDomainsOf(cfg).join(', ') }),
  ];
  if (cfg.mx && !isMicrosoftMx(parseHostPort(cfg.mx).host)) out.push(both(T.foreignConfiguredMx, { mx: cfg.mx, domain: cfg.domain }));
  if (!cfg.requireTls) out.push(T.tlsWhenOffered);
  return out;
}

/** warnings.ts's foreignMxWarning(), in both languages. */
export function foreignMxText(domain: string, host: string): Text {
  return both(T.foreignMx, { domain, host });
}
