import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap growing factor for the relay, in percent above the live size
 * after a full collection (docs/architecture.md, Memory). Buffers that a
 * slow upstream holds for a while are promoted and, dead, wait for a full
 * collection; V8 otherwise lets the old generation grow by a factor of up
 * to 4 and counts dead buffers only up to 64 MB before it starts one. At 50 %
 * a full collection comes after some 15 MB of promoted objects, and the dead
 * buffers promoted with them go too; the price is more full collections
 * while large messages arrive (docs/benchmarks.md, Memory with large
 * messages). Not accepted in NODE_OPTIONS, so the relay sets it for itself
 * when it starts (V8 reads it at every collection).
 */
export const HEAP_GROWING_PERCENT = 50;

/** Applies HEAP_GROWING_PERCENT to this process (the relay's main process and its receive workers). */
export function tuneHeap(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
