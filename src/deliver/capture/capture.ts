/**
 * The capture transport keeps messages in the queue, held, for inspection.
 * It is the embedded default route: nothing leaves the relay until an
 * upstream is configured and the messages are released.
 */
import { outcomeForAll, type RecipientOutcome } from '../../core/outcome.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';

export class CaptureTransport implements Transport {
  readonly type = 'capture';
  readonly concurrency = 16;

  constructor(readonly name: string) {}

  async deliver(message: OutboundMessage, _ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    return outcomeForAll(message.recipients, {
      action: 'hold',
      category: 'captured',
      response: `held by capture route "${this.name}"`,
      hint: 'No upstream delivers this route yet. Configure one under upstreams and routes, then run `authrelay queue release ID`.',
    });
  }

  async close(): Promise<void> {}
}
