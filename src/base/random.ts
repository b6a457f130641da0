// A small deterministic PRNG (mulberry32) for reproducible pseudo-random choices: IPAM's
// host-seeded block order, property tests that replay a failing case from its seed, and
// benchmarks that must build the same synthetic cluster on every run.

/** Floats in [0, 1) from a 32-bit seed; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integers in [0, n) from the same generator. */
export function seededInt(seed: number): (n: number) => number {
  const r = seededRandom(seed);
  return (n) => Math.floor(r() * n);
}
