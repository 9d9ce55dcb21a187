/**
 * An error whose message is meant for the person who caused it (a name that
 * does not exist, a value that cannot be used): every face shows the message
 * as it is (the CLI on stderr, the API as a 400 answer), never a stack trace.
 * It carries the message in English and Japanese (`text`, filled); `message`
 * is the English one. A plain string reads the same in both languages (a
 * message that names only values, or one not translated yet).
 */
import { asIs, renderBoth, type Placeholders, type Text } from './i18n.js';

export class UserError extends Error {
  override name = 'UserError';
  /** The message in both languages, placeholders filled. */
  readonly text: Text;

  constructor(message: string | Text, values?: Placeholders) {
    const text = typeof message === 'string' ? asIs(message) : renderBoth(message, values);
    super(text.en);
    this.text = text;
  }
}
