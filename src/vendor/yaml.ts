/**
 * yaml, as the relay imports it. The build replaces the compiled form of this
 * file with yaml bundled into one module (scripts/vendor.mjs), as for zod
 * (see zod.ts): the configuration file is read before the listeners open.
 */
export * from 'yaml';
