/**
 * zod, as the relay imports it. The build replaces the compiled form of this
 * file with zod bundled into one module (scripts/vendor.mjs): loading it then
 * reads one file instead of about a hundred, which the start of the relay
 * waits for (the configuration is validated before the listeners open).
 * Without that step (tsc alone) this re-export works the same, only slower.
 */
export * from 'zod';
