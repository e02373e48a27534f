// The audit log's Merkle tree (RFC 9162): our proofs against the published RFC 6962 vectors
// (test/fixtures/merkle, copied as data), the reference roots of the RFC 6962 test leaves, and
// every inclusion and consistency proof of generated trees, including tampered ones.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { auditLeafHash, EMPTY_ROOT, leafHash, MerkleTree, verifyConsistency, verifyInclusion } from '../src/audit/merkle.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/merkle/testdata', import.meta.url));
const b64 = (s: string | null | undefined): Buffer => Buffer.from(s ?? '', 'base64');

function vectors(kind: 'inclusion' | 'consistency'): { file: string; v: any }[] {
  const out: { file: string; v: any }[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else if (name.name.endsWith('.json')) out.push({ file: p.slice(FIXTURES.length + 1), v: JSON.parse(readFileSync(p, 'utf8')) });
    }
  };
  walk(join(FIXTURES, kind));
  return out;
}

// The RFC 6962 reference leaves and the roots of their first 1..8 (published with the RFC's
// reference implementation and reproduced by every CT log library).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('Merkle tree (RFC 9162) over the audit log', () => {
  test('the roots of the RFC 6962 reference leaves, and the empty tree', () => {
    const tree = new MerkleTree(LEAVES.map((l) => leafHash(Buffer.from(l, 'hex'))));
    for (let n = 1; n <= 8; n++) assert.equal(tree.root(n).toString('hex'), ROOTS[n - 1], `root of ${n}`);
    assert.equal(tree.root(0).toString('hex'), createHash('sha256').digest('hex'));
    assert.deepEqual(EMPTY_ROOT, tree.root(0));
  });

  test('every published inclusion vector verifies or fails as it says', () => {
    const all = vectors('inclusion');
    assert.ok(all.length > 80, `only ${all.length} inclusion vectors found`);
    for (const { file, v } of all) {
      const ok = verifyInclusion(b64(v.leafHash), v.leafIdx, v.treeSize, (v.proof ?? []).map(b64), b64(v.root));
      assert.equal(ok, !v.wantErr, `${file}: ${v.desc}`);
    }
  });

  test('every published consistency vector verifies or fails as it says', () => {
    const all = vectors('consistency');
    assert.ok(all.length > 80, `only ${all.length} consistency vectors found`);
    for (const { file, v } of all) {
      const ok = verifyConsistency(v.size1, v.size2, b64(v.root1), b64(v.root2), (v.proof ?? []).map(b64));
      assert.equal(ok, !v.wantErr, `${file}: ${v.desc}`);
    }
  });

  test('our proofs for the reference tree equal the published happy paths', () => {
    const tree = new MerkleTree(LEAVES.map((l) => leafHash(Buffer.from(l, 'hex'))));
    for (const { file, v } of vectors('inclusion').filter((x) => !x.v.wantErr && x.v.treeSize <= 8 && x.v.proof?.length)) {
      if (!tree.leaf(v.leafIdx).equals(b64(v.leafHash))) continue;
      assert.deepEqual(
        tree.inclusionProof(v.leafIdx, v.treeSize).map((p) => p.toString('base64')),
        v.proof,
        file,
      );
    }
    for (const { file, v } of vectors('consistency').filter((x) => !x.v.wantErr && x.v.size2 <= 8 && x.v.proof?.length)) {
      if (!tree.root(v.size2).equals(b64(v.root2))) continue;
      assert.deepEqual(
        tree.consistencyProof(v.size1, v.size2).map((p) => p.toString('base64')),
        v.proof,
        file,
      );
    }
  });

  test('every inclusion and consistency proof of every tree up to 70 leaves verifies; tampering fails', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
    const tree = new MerkleTree(leaves);
    for (let n = 1; n <= 70; n++) {
      const root = tree.root(n);
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i, n);
        assert.ok(verifyInclusion(tree.leaf(i), i, n, proof, root), `inclusion ${i} in ${n}`);
        assert.ok(!verifyInclusion(tree.leaf((i + 1) % 70), i, n, proof, root) || n === 1, `wrong leaf ${i} in ${n}`);
      }
      assert.ok(!verifyConsistency(0, n, EMPTY_ROOT, root, []), 'a proof from the empty tree proves nothing');
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        assert.ok(verifyConsistency(m, n, tree.root(m), root, proof), `consistency ${m} → ${n}`);
        if (m > 0 && m < n) {
          const bad = proof.map((p, j) => {
            const copy = Buffer.from(p);
            if (j === 0) copy.writeUInt8(copy.readUInt8(0) ^ 1, 0);
            return copy;
          });
          assert.ok(!verifyConsistency(m, n, tree.root(m), root, bad), `tampered consistency ${m} → ${n}`);
        }
      }
    }
  });

  test('every entry of a 100,000-entry log has an inclusion proof that verifies; an edited entry fails', () => {
    const n = 100_000;
    const entries = Array.from({ length: n }, (_, i) =>
      createHash('sha256')
        .update(`audit entry ${i + 1}`)
        .digest('hex'),
    );
    const tree = new MerkleTree(entries.map(auditLeafHash));
    const root = tree.root();
    let verified = 0;
    for (let i = 0; i < n; i++) if (verifyInclusion(auditLeafHash(entries[i] as string), i, n, tree.inclusionProof(i), root)) verified++;
    assert.equal(verified, n);
    for (const i of [0, 1, 4_095, 65_536, 99_999]) {
      const edited = createHash('sha256')
        .update(`edited entry ${i + 1}`)
        .digest('hex');
      assert.ok(!verifyInclusion(auditLeafHash(edited), i, n, tree.inclusionProof(i), root), `edited entry ${i + 1}`);
    }
  });

  test('a rewritten or truncated history fails consistency with the old root', () => {
    const leaves = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
    const honest = new MerkleTree(leaves);
    const oldRoot = honest.root(25);
    // Entry 10 edited, then the log grew: the new tree's proofs cannot reach the old root.
    const rewritten = new MerkleTree(leaves.map((l, i) => (i === 10 ? leafHash(Buffer.from('edited')) : l)));
    assert.ok(!verifyConsistency(25, 40, oldRoot, rewritten.root(40), rewritten.consistencyProof(25, 40)));
    // Truncated to 20 and regrown to 40 with other entries.
    const regrown = new MerkleTree([...leaves.slice(0, 20), ...Array.from({ length: 20 }, (_, i) => leafHash(Buffer.from(`forged ${i}`)))]);
    assert.ok(!verifyConsistency(25, 40, oldRoot, regrown.root(40), regrown.consistencyProof(25, 40)));
    // An edited entry's old inclusion proof no longer reaches the root either.
    assert.ok(!verifyInclusion(leafHash(Buffer.from('edited')), 10, 25, honest.inclusionProof(10, 25), oldRoot));
  });
});
