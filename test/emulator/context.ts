/**
 * What every emulator handler gets: the shared state, the token minter, the
 * certificates, the HTTPS origin and a temporary directory for uploads.
 */
import type { EmulatorCertificates } from './ca.js';
import type { EmulatorState } from './state.js';
import type { TokenMinter } from './tokens.js';

export interface EmulatorContext {
  state: EmulatorState;
  minter: TokenMinter;
  certs: EmulatorCertificates;
  /** https://127.0.0.1:PORT once listening. */
  origin: string;
  /** Temporary directory (CA file, upload session files). */
  dir: string;
}
