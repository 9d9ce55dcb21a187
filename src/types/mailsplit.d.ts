/**
 * Types for the parts of mailsplit (no bundled types) that the Microsoft
 * MIME preparation uses: the Splitter's object stream of MIME nodes, the
 * multipart structure between them, and leaf body chunks.
 */
declare module 'mailsplit' {
  import { Transform } from 'node:stream';

  export interface MailsplitHeaders {
    get(key: string): string[];
    getFirst(key: string): string;
    hasHeader(key: string): boolean;
  }

  export interface MimeNode {
    type: 'node';
    root: boolean;
    parentNode: MimeNode | false;
    multipart: string | false;
    contentType: string | false;
    disposition: 'attachment' | 'inline' | false;
    encoding: string | false;
    charset: string | false;
    filename: string | false;
    headers: MailsplitHeaders;
    /** The node's header block as sent (blank line included) when not modified. */
    getHeaders(): Buffer;
    /** A stream that turns the node's encoded body into its bytes (base64, quoted-printable, or as is). */
    getDecoder(): Transform;
  }

  export interface MailsplitChunk {
    type: 'data' | 'body';
    value: Buffer;
    node: MimeNode;
  }

  export type MailsplitItem = MimeNode | MailsplitChunk;

  export class Splitter extends Transform {
    constructor(options?: { ignoreEmbedded?: boolean; maxHeadSize?: number });
  }
}
