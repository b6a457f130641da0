// Imported first by every executable: V8's compiled code is cached inside the checkout
// (node_modules/.cache/tricolor-v8, or $NODE_COMPILE_CACHE), so a warm start is about twice as
// fast — it matters for the lab, the CNI fallback and scripted CLI calls. Only modules loaded
// after this runs are covered, so the entry points import the rest dynamically.
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';

enableCompileCache(process.env['NODE_COMPILE_CACHE'] ?? join(import.meta.dirname, '..', 'node_modules', '.cache', 'tricolor-v8'));
