/** The built-in upstream that holds messages; it always exists, configured or not. */
export const CAPTURE_ROUTE = 'capture';
