/**
 * How a person types the command where they stand, for every hint the relay
 * and its command line print: `npx authrelay` in a source tree (after
 * `npm ci`), `authrelay` where it is installed (npm install -g, the systemd
 * wrapper, the container image). The wrappers and the image set
 * AUTHRELAY_COMMAND, which the command line reads once at start
 * (cli/main.ts → setCommandName); without it, a global npm install runs from a
 * node_modules folder.
 */
import { fileURLToPath } from 'node:url';

let name: string | undefined;

/** The command line's choice, from AUTHRELAY_COMMAND (read once, where the environment is read). */
export function setCommandName(value: string | undefined): void {
  name = value || undefined;
}

export function commandName(): string {
  // Where this module really is (a global install's bin/authrelay is a link into lib/node_modules/authrelay).
  name ??= /[\\/]node_modules[\\/]/.test(fileURLToPath(import.meta.url)) ? 'authrelay' : 'npx authrelay';
  return name;
}
