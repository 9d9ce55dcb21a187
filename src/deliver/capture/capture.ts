/**
 * The capture transport keeps messages in the queue, held, for inspection.
 * It is the embedded default route: nothing leaves the relay until an
 * upstream is configured and the messages are released.
 */
import { commandName } from '../../core/command-name.js';
import { outcomeForAll, type RecipientOutcome } from '../../core/outcome.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';

export class CaptureTransport implements Transport {
  readonly type = 'capture';
  readonly concurrency = 16;

  constructor(readonly name: string) {}

  async deliver(message: OutboundMessage, _ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    const cmd = commandName();
    return outcomeForAll(message.recipients, {
      action: 'hold',
      category: 'captured',
      response: `held by capture route "${this.name}"`,
      hint: `No upstream delivers this route yet. Configure one under upstreams and routes (the console's setup wizard, or \`${cmd} init\`), then run \`${cmd} queue release ${message.id}\`.`,
      ja: { hint: `このルートで配送するアップストリームがまだありません。upstreams と routes で設定してから (コンソールのセットアップ ウィザード、または \`${cmd} init\`)、\`${cmd} queue release ${message.id}\` を実行してください。` },
    });
  }

  async close(): Promise<void> {}
}
