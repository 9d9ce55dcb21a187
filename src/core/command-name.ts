/**
 * How a person types the command where they stand, for every hint the relay
 * and its command line print: `npx authrelay` in a source tree (after
 * `npm ci`), `authrelay` where it is installed (npm install -g, the systemd
 * wrapper, the container image). The wrappers and the image set
 * AUTHRELAY_COMMAND; a global npm install runs from a node_modules folder.
 */
import { fileURLToPath } from 'node:url';

export function commandName(): string {
  const set = process.env.AUTHRELAY_COMMAND;
  if (set) return set;
  // Where this module really is (a global install's bin/authrelay is a link into lib/node_modules/authrelay).
  return /[\\/]node_modules[\\/]/.test(fileURLToPath(import.meta.url)) ? 'authrelay' : 'npx authrelay';
}
