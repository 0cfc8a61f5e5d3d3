"""RFC 9162 Merkle tree heads and proofs over the audit log's leaves (pure, no I/O)."""

from collections.abc import Sequence

from schemas.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1): where RFC 9162 splits D[n] into D[0:k], D[k:n]."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree_root(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) without recursion and in O(log n) memory.

    Leaves are merged left to right like binary addition: the stack holds the roots of perfect subtrees of
    strictly decreasing height, and folding it from the right gives the left-balanced tree of RFC 9162."""
    if start == end:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []
    for i in range(start, end):
        height, value = 0, leaf_hash(leaves[i])
        while stack and stack[-1][0] == height:
            value = node_hash(stack.pop()[1], value)
            height += 1
        stack.append((height, value))
    value = stack.pop()[1]
    while stack:
        value = node_hash(stack.pop()[1], value)
    return value


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]), the Merkle tree head over all `leaves` (each the leaf's data, not its hash)."""
    return _subtree_root(leaves, 0, len(leaves))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) (RFC 9162 §2.1.3.1): the sibling hashes from the leaf at 0-based `index` up to the
    root, leaf end first. Raises ValueError for an index outside the tree."""
    size = len(leaves)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    # Walk down from the root, noting the sibling of each subtree that holds the leaf; the siblings are
    # disjoint, so the whole proof costs O(n) hashes.
    siblings: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            siblings.append(_subtree_root(leaves, start + k, end))
            end = start + k
        else:
            siblings.append(_subtree_root(leaves, start, start + k))
            start += k
            m -= k
    siblings.reverse()
    return siblings


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) (RFC 9162 §2.1.4.1): the hashes that show the first `old_size` leaves are a
    prefix of all `leaves`. Empty when old_size is 0 or n. Raises ValueError if old_size > n."""
    size = len(leaves)
    if not 0 <= old_size <= size:
        raise ValueError(f"old size {old_size} is outside 0..{size}")
    if old_size in (0, size):
        return []
    # SUBPROOF(m, D[start:end], b) unrolled: each step keeps the half that holds the old tree's right edge.
    siblings: list[bytes] = []
    start, end, m = 0, size, old_size
    whole_old_root = True  # b: the subtree we are in is the old tree itself, whose root the verifier has
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            siblings.append(_subtree_root(leaves, start + k, end))
            end = start + k
        else:
            siblings.append(_subtree_root(leaves, start, start + k))
            start += k
            m -= k
            whole_old_root = False
    siblings.reverse()
    if whole_old_root:
        return siblings
    return [_subtree_root(leaves, start, end), *siblings]
