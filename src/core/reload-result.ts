/**
 * The answer to a configuration reload, as every face shows it (the CLI's
 * `authrelay reload`, the control socket, the console and API after a change).
 */

export interface Changes {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface ReloadResult {
  ok: boolean;
  /** The configuration version in effect after this call. */
  version: string;
  /** The file read. */
  source: string;
  /** Why it was refused (when ok is false). */
  problems?: string[];
  changes?: { devices: Changes; listeners: Changes; upstreams: Changes; routes: boolean; rerouted: number; other: string[] };
  /** Settings that changed but take effect only at the next start. */
  restartNeeded: string[];
  /** One sentence for people (the CLI prints it, the console shows it). */
  message: string;
}

