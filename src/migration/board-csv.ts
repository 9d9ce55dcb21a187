/**
 * The board as CSV, for `authrelay migrate status --csv` and the console's
 * export (GET /api/v1/migration?format=csv): one line per sender with its
 * state and what is known of it, the same content as the JSON board.
 */
import type { Board } from './board.js';
import { csvLine } from './csv.js';

export const BOARD_CSV_HEADER = ['mailbox', 'display name', 'state', 'last basic auth', 'precision', 'sign-ins in period', 'failures', 'source addresses',
  'seen at authrelay', 'messages through authrelay', 'devices', 'ignored reason', 'ignored by', 'concealed'];

export function boardCsv(board: Board): string {
  let out = csvLine(BOARD_CSV_HEADER);
  for (const r of board.rows) {
    out += csvLine([
      r.mailbox ?? r.key, r.displayName, r.state, r.lastBasicAuth, r.lastBasicAuthPrecision, r.countInPeriod, r.failures,
      r.addresses.map((a) => a.ip).join(' '), r.seenAtRelay?.lastSeen, r.seenAtRelay?.messages ?? 0, r.devices.join(' '),
      r.ignored?.reason, r.ignored?.by, r.concealed ? 'yes' : 'no',
    ]);
  }
  return out;
}
