//! RFC 9162 (Certificate Transparency v2) Merkle tree: leaf and node hashing, inclusion and consistency proofs,
//! and their verification. Pure: the tree is held in memory as levels of perfect-subtree hashes, built from the
//! leaf hashes the store keeps; any RFC 9162 verifier can check the proofs it produces.
//!
//! Hashes: `leaf_hash = SHA-256(0x00 ‖ leaf)`, `node = SHA-256(0x01 ‖ left ‖ right)`, the root of an empty tree
//! is `SHA-256("")`.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// An append-only Merkle tree. `levels[0]` are leaf hashes; `levels[k][i]` is the hash of the perfect subtree
/// of leaves `[i·2^k, (i+1)·2^k)` once it is complete. Appending costs O(log n) hashes.
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

fn largest_power_of_two_below(n: u64) -> u64 {
    // The k of RFC 9162 §2.1.1: the largest power of two smaller than n (n ≥ 2).
    1 << (63 - (n - 1).leading_zeros())
}

impl MerkleTree {
    pub fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash (already `leaf_hash(..)`).
    pub fn push(&mut self, leaf_hash: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf_hash);
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let n = self.levels[level].len();
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
    }

    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.first()?.get(index as usize).copied()
    }

    /// MTH of leaves `[start, start + n)`; `start` is a multiple of the largest power of two ≤ n or the
    /// range is a right edge (as RFC 9162 recursion produces). Perfect aligned ranges are looked up.
    fn subtree(&self, start: u64, n: u64) -> Hash {
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            return self.levels[level][(start / n) as usize];
        }
        let k = largest_power_of_two_below(n);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, n - k))
    }

    /// The root hash of the first `size` leaves.
    pub fn root(&self, size: u64) -> Option<Hash> {
        (size <= self.size()).then(|| self.subtree(0, size))
    }

    /// RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.size() {
            return None;
        }
        let mut path = Vec::new();
        self.path(index, 0, size, &mut path);
        Some(path)
    }

    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) {
        if n <= 1 {
            return;
        }
        let k = largest_power_of_two_below(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }

    /// RFC 9162 §2.1.4.1 consistency proof between the trees of `first` and `second` leaves.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Option<Vec<Hash>> {
        if first == 0 || first > second || second > self.size() {
            return None;
        }
        let mut out = Vec::new();
        self.subproof(first, 0, second, true, &mut out);
        Some(out)
    }

    fn subproof(&self, m: u64, start: u64, n: u64, complete: bool, out: &mut Vec<Hash>) {
        if m == n {
            if !complete {
                out.push(self.subtree(start, n));
            }
            return;
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            self.subproof(m, start, k, complete, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.subtree(start, k));
        }
    }
}

/// RFC 9162 §2.1.3.2: checks that `leaf_hash` at `index` is in the tree of `size` with `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf_hash: &Hash, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in path {
        if s_n == 0 {
            return false;
        }
        if f_n % 2 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && &r == root
}

/// RFC 9162 §2.1.4.2: checks that the tree of `second` leaves with `second_root` extends the tree of
/// `first` leaves with `first_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 || first > second || proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n % 2 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if s_n == 0 {
            return false;
        }
        if f_n % 2 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    &fr == first_root && &sr == second_root && s_n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference definition of RFC 9162 §2.1.1, computed naively.
    fn mth(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = largest_power_of_two_below(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn tree(leaves: &[Vec<u8>]) -> MerkleTree {
        let mut t = MerkleTree::new();
        for l in leaves {
            t.push(leaf_hash(l));
        }
        t
    }

    fn hx(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // The eight leaves of the Certificate Transparency reference test data (RFC 6962 / 9162 implementations).
    fn ct_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
    }

    #[test]
    fn roots_match_the_certificate_transparency_test_vectors() {
        let leaves = ct_leaves();
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let t = tree(&leaves);
        for (i, r) in roots.iter().enumerate() {
            assert_eq!(t.root(i as u64 + 1).unwrap(), hx(r), "root of {} leaves", i + 1);
        }
        assert_eq!(
            t.root(0).unwrap(),
            hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn inclusion_proofs_match_the_reference_vectors_and_verify() {
        let t = tree(&ct_leaves());
        let p = t.inclusion_proof(0, 8).unwrap();
        assert_eq!(
            p,
            vec![
                hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ]
        );
        let p = t.inclusion_proof(5, 8).unwrap();
        assert_eq!(
            p,
            vec![
                hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ]
        );
        let leaves = ct_leaves();
        for size in 1..=8u64 {
            let root = t.root(size).unwrap();
            for i in 0..size {
                let p = t.inclusion_proof(i, size).unwrap();
                assert!(verify_inclusion(
                    i,
                    size,
                    &leaf_hash(&leaves[i as usize]),
                    &p,
                    &root
                ));
                assert!(!verify_inclusion(i, size, &leaf_hash(b"other"), &p, &root));
            }
        }
    }

    #[test]
    fn consistency_proofs_match_the_reference_vectors_and_verify() {
        let t = tree(&ct_leaves());
        assert_eq!(
            t.consistency_proof(1, 8).unwrap(),
            vec![
                hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ]
        );
        assert_eq!(
            t.consistency_proof(6, 8).unwrap(),
            vec![
                hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ]
        );
        assert_eq!(
            t.consistency_proof(2, 5).unwrap(),
            vec![
                hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")
            ]
        );
        for second in 1..=8u64 {
            for first in 1..=second {
                let p = t.consistency_proof(first, second).unwrap();
                let (a, b) = (t.root(first).unwrap(), t.root(second).unwrap());
                assert!(verify_consistency(first, second, &a, &b, &p), "{first}->{second}");
                if first != second {
                    assert!(!verify_consistency(first, second, &leaf_hash(b"x"), &b, &p));
                }
            }
        }
    }

    #[test]
    fn the_tree_agrees_with_the_definition_on_many_sizes() {
        let leaves: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let t = tree(&leaves);
        for n in [1usize, 2, 3, 5, 7, 8, 9, 64, 100, 255, 256, 257, 300] {
            assert_eq!(t.root(n as u64).unwrap(), mth(&leaves[..n]));
        }
    }
}
