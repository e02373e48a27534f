import { createHash } from 'node:crypto';

// RFC 9162 (Certificate Transparency 2.0) §2.1 Merkle tree hashing over the audit log:
//   leaf hash  = SHA-256(0x00 || leaf data)
//   node hash  = SHA-256(0x01 || left || right)
// with the tree over n leaves split at k, the largest power of two smaller than n. The leaf data
// of an audit entry is its 32-byte entry hash (src/audit/chain.ts), which binds every field.

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The hash of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** The leaf hash of an audit entry, from its hex entry hash. */
export function auditLeafHash(entryHashHex: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(entryHashHex)) throw new Error('an audit entry hash is 64 hex digits');
  return leafHash(Buffer.from(entryHashHex, 'hex'));
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * A Merkle tree over leaf hashes held in memory, level by level: level 0 the leaves, each next
 * level the hashes of complete pairs. A subtree of 2^h aligned leaves is one stored node, so a
 * root or proof for any size costs O(log n) hashes. Appends only (an audit log never shrinks).
 */
export class MerkleTree {
  readonly #levels: Buffer[][] = [[]];

  constructor(leaves: Iterable<Uint8Array> = []) {
    for (const leaf of leaves) this.append(leaf);
  }

  get size(): number {
    return this.#row(0).length;
  }

  /** Adds a leaf hash (already hashed with leafHash). */
  append(leaf: Uint8Array): void {
    let level = 0;
    this.#row(0).push(Buffer.from(leaf));
    // Each time a level gains a right child, its pair becomes a node one level up.
    for (let row = this.#row(0); row.length % 2 === 0; row = this.#row(level)) {
      const node = nodeHash(this.#node(level, row.length - 2), this.#node(level, row.length - 1));
      level++;
      if (this.#levels.length === level) this.#levels.push([]);
      this.#row(level).push(node);
    }
  }

  leaf(index: number): Buffer {
    if (index < 0 || index >= this.size) throw new RangeError(`no leaf ${index} in a tree of ${this.size}`);
    return this.#node(0, index);
  }

  #row(level: number): Buffer[] {
    const row = this.#levels[level];
    if (!row) throw new RangeError(`no level ${level}`);
    return row;
  }

  #node(level: number, index: number): Buffer {
    const node = this.#row(level)[index];
    if (!node) throw new RangeError(`no node ${index} at level ${level}`);
    return node;
  }

  /** The root of the first `size` leaves (RFC 9162 MTH(D[0:size])). */
  root(size: number = this.size): Buffer {
    this.#checkSize(size);
    return size === 0 ? EMPTY_ROOT : this.#hash(0, size);
  }

  /** Inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1). */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.#checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
    const proof: Buffer[] = [];
    this.#path(index, 0, size, proof);
    return proof;
  }

  /** Consistency proof between the trees of the first `oldSize` and `newSize` leaves (§2.1.4.1). */
  consistencyProof(oldSize: number, newSize: number = this.size): Buffer[] {
    this.#checkSize(newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) {
      throw new RangeError(`no consistency proof from size ${oldSize} to ${newSize}`);
    }
    if (oldSize === 0 || oldSize === newSize) return [];
    const proof: Buffer[] = [];
    this.#subproof(oldSize, 0, newSize, true, proof);
    return proof;
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`the tree has ${this.size} leaves, not ${size}`);
  }

  /** MTH of leaves [start, start + n): a stored node when aligned and complete, else split. */
  #hash(start: number, n: number): Buffer {
    if ((n & (n - 1)) === 0 && start % n === 0) {
      return this.#node(Math.log2(n), start / n);
    }
    const k = split(n);
    return nodeHash(this.#hash(start, k), this.#hash(start + k, n - k));
  }

  #path(m: number, start: number, n: number, out: Buffer[]): void {
    if (n === 1) return;
    const k = split(n);
    if (m < k) {
      this.#path(m, start, k, out);
      out.push(this.#hash(start + k, n - k));
    } else {
      this.#path(m - k, start + k, n - k, out);
      out.push(this.#hash(start, k));
    }
  }

  #subproof(m: number, start: number, n: number, complete: boolean, out: Buffer[]): void {
    if (m === n) {
      if (!complete) out.push(this.#hash(start, n));
      return;
    }
    const k = split(n);
    if (m <= k) {
      this.#subproof(m, start, k, complete, out);
      out.push(this.#hash(start + k, n - k));
    } else {
      this.#subproof(m - k, start + k, n - k, false, out);
      out.push(this.#hash(start, k));
    }
  }
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

/**
 * Verifies that `leaf` (a leaf hash) is at `index` in the tree of `size` whose root is `root`
 * (RFC 9162 §2.1.3.2). Needs nothing but these values: no database, no other entries.
 */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (proof.some((p) => p.length !== 32) || leaf.length !== 32 || root.length !== 32) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * Verifies that the tree of `oldSize` with root `oldRoot` is a prefix of the tree of `newSize`
 * with root `newRoot` (RFC 9162 §2.1.4.2): nothing in the first `oldSize` entries was changed,
 * removed or reordered.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  // Every tree extends the empty one, so a proof from size 0 proves nothing: refused as useless.
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 1 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  if (proof.length === 0 || proof.some((p) => p.length !== 32)) return false;
  const path = [...proof];
  // When the old tree is a complete subtree on the left edge, its root is the first node.
  if ((oldSize & (oldSize - 1)) === 0) path.unshift(Buffer.from(oldRoot));
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const [first, ...rest] = path;
  if (!first) return false;
  let fr: Buffer = Buffer.from(first);
  let sr: Buffer = Buffer.from(first);
  for (const c of rest) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}
