/** The in-process pacing counts pass the pacing contract (one node: both "nodes" are the same instance). */
import { MemoryPacing } from '../../src/spool/pacing.js';
import { pacingContract } from '../contract/pacing-contract.js';

pacingContract('memory', async () => {
  const p = new MemoryPacing();
  return { a: p, b: p, destroy: () => p.close() };
});
