/** The command as a person types it where they stand (see core/command-name.ts). */
export { commandName } from '../core/command-name.js';
