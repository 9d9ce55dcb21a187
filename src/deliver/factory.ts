/** Builds the transports named in the config. One place knows every transport type. */
import type { UpstreamConfig } from '../config/schema.js';
import type { Transport } from './transport.js';
import { SmtpTransport } from './smtp/smtp.js';
import { CaptureTransport } from './capture/capture.js';

export function createTransport(name: string, cfg: UpstreamConfig): Transport {
  switch (cfg.type) {
    case 'smtp':
      return new SmtpTransport(name, cfg);
    case 'capture':
      return new CaptureTransport(name);
  }
}
