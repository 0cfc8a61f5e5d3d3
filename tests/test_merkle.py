"""Merkle heads and proofs against RFC 6962 vectors and forgeries; signed checkpoints; client checks."""

import base64
import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from clients.audit_proofs import (
    ProofError,
    accept_checkpoint,
    check_consistency,
    check_inclusion,
    read_kept_checkpoints,
)
from schemas.audit import Checkpoint, ConsistencyProof, InclusionProof
from service.audit.checkpoint import (
    adopt_key_from_file_store,
    load_or_create_signing_key,
    public_key_pem,
    sign_checkpoint,
    verify_checkpoint,
)
from service.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from service.config import Settings

# Known answers for the eight-leaf reference tree, from google/certificate-transparency
# cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs) and
# transparency-dev/merkle proof/verify_test.go (the same vectors plus the 6 → 7 consistency proof).
# Those files number leaves from 1 in PATH vectors; the indexes below are 0-based.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
DATA = [bytes([i]) for i in range(64)]
MAX_SIZE = 40

# A proof does not pin the tree size by itself: the path for leaf 0 of 3 leaves also "verifies" for 4 leaves
# against the 3-leaf root, as the shapes agree. The size is bound to the root by the signed checkpoint, so
# forgeries below change the size by a factor of two (as the reference test suites do), not by one.


# The definitions of RFC 9162 §2.1, written as recursively as the RFC states them, to check the
# iterative builders against.
def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_root(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + reference_root(d[:k]) + reference_root(d[k:])).digest()


def reference_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*reference_path(m, d[:k]), reference_root(d[k:])]
    return [*reference_path(m - k, d[k:]), reference_root(d[:k])]


def reference_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [reference_root(d)]
    k = _k(len(d))
    if m <= k:
        return [*reference_subproof(m, d[:k], b), reference_root(d[k:])]
    return [*reference_subproof(m - k, d[k:], False), reference_root(d[:k])]


def flipped(proof: list[bytes], at: int) -> list[bytes]:
    wrong = list(proof)
    wrong[at] = bytes([wrong[at][0] ^ 0x10]) + wrong[at][1:]
    return wrong


# Known answers


def test_roots_of_the_reference_tree_match_the_known_answers() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    for size, expected in enumerate(ROOTS):
        assert root(LEAVES[:size]).hex() == expected


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_known_answers(index: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(index, LEAVES[:size])
    assert [node.hex() for node in proof] == path
    assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old_size", "new_size", "path"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_known_answers(old_size: int, new_size: int, path: list[str]) -> None:
    proof = consistency_proof(old_size, LEAVES[:new_size])
    assert [node.hex() for node in proof] == path
    assert verify_consistency(
        old_size, new_size, bytes.fromhex(ROOTS[old_size]), bytes.fromhex(ROOTS[new_size]), proof
    )


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert a == hashlib.sha256(b"\x00a").digest()
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert leaf_hash(a + b) != node_hash(a, b)


# Every proof for every size up to MAX_SIZE, and forgeries of each


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_inclusion_proof_verifies_and_every_forgery_fails(size: int) -> None:
    leaves = DATA[:size]
    tree_root = root(leaves)
    assert tree_root == reference_root(leaves)
    for index in range(size):
        proof = inclusion_proof(index, leaves)
        assert proof == reference_path(index, leaves)
        leaf = leaf_hash(leaves[index])
        assert verify_inclusion(leaf, index, size, proof, tree_root)

        forgeries = [
            (leaf, index - 1, size, proof, tree_root),
            (leaf, index + 1, size, proof, tree_root),
            (leaf, index ^ 2, size, proof, tree_root),
            (leaf, index, size * 2, proof, tree_root),
            (leaf, index, size // 2, proof, tree_root),
            (leaf_hash(b"WrongLeaf"), index, size, proof, tree_root),
            (leaf, index, size, proof, EMPTY_ROOT),
            (leaf, index, size, proof, SOME_HASH),
            (leaf, index, size, [*proof, tree_root], tree_root),
            (leaf, index, size, [*proof, SOME_HASH], tree_root),
            (leaf, index, size, [tree_root, *proof], tree_root),
            (leaf, index, size, [*proof, b""], tree_root),
            (leaf, index, size, [b"", *proof], tree_root),
            *((leaf, index, size, flipped(proof, at), tree_root) for at in range(len(proof))),
        ]
        if proof:
            forgeries.append((leaf, index, size, proof[:-1], tree_root))
            forgeries.append((leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], tree_root))
        if len(proof) > 1:
            forgeries.append((leaf, index, size, proof[::-1], tree_root))
        for forged in forgeries:
            assert not verify_inclusion(*forged), forged[1:3]


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_consistency_proof_verifies_and_every_forgery_fails(size: int) -> None:
    leaves = DATA[:size]
    new_root = root(leaves)
    for old_size in range(size + 1):
        old_root = root(leaves[:old_size])
        proof = consistency_proof(old_size, leaves)
        if 0 < old_size < size:
            assert proof == reference_subproof(old_size, leaves, True)
        assert verify_consistency(old_size, size, old_root, new_root, proof)
        if not 0 < old_size < size:
            assert proof == []
            continue

        forgeries = [
            (old_size - 1, size, old_root, new_root, proof),
            (old_size + 1, size, old_root, new_root, proof),
            (old_size ^ 2, size, old_root, new_root, proof),
            (old_size, size * 2, old_root, new_root, proof),
            (old_size, size // 2, old_root, new_root, proof),
            (old_size, size, SOME_HASH, new_root, proof),
            (old_size, size, old_root, SOME_HASH, proof),
            (old_size, size, new_root, old_root, proof),
            (old_size, size, old_root, new_root, []),
            (old_size, size, old_root, new_root, proof[:-1]),
            (old_size, size, old_root, new_root, [*proof, old_root]),
            (old_size, size, old_root, new_root, [*proof, new_root]),
            (old_size, size, old_root, new_root, [*proof, b""]),
            (old_size, size, old_root, new_root, [old_root, *proof]),
            (old_size, size, old_root, new_root, [new_root, *proof]),
            (old_size, size, old_root, new_root, [proof[0], *proof]),
            (old_size, size, old_root, new_root, [b"", *proof]),
            *((old_size, size, old_root, new_root, flipped(proof, at)) for at in range(len(proof))),
        ]
        for forged in forgeries:
            assert not verify_consistency(*forged), (forged[0], forged[1], [p.hex() for p in forged[4]])


def test_a_large_tree_needs_no_recursion_and_its_proofs_verify() -> None:
    size = (1 << 17) + 5
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    tree_root = root(leaves)
    for index in (0, size // 3, size - 1):
        proof = inclusion_proof(index, leaves)
        assert verify_inclusion(leaf_hash(leaves[index]), index, size, proof, tree_root)
    old_size = size // 3
    proof = consistency_proof(old_size, leaves)
    assert verify_consistency(old_size, size, root(leaves[:old_size]), tree_root, proof)


# Malformed input is rejected, not a crash


def test_inclusion_verifier_rejects_malformed_input() -> None:
    one = leaf_hash(b"data")
    assert verify_inclusion(one, 0, 1, [], one)
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 1), (0, -1)]:
        assert not verify_inclusion(one, index, size, [], one)
    assert not verify_inclusion(b"", 0, 1, [], b"")
    assert not verify_inclusion(one, 0, 1, [], one[:31])
    assert not verify_inclusion(one[:31], 0, 1, [], one)
    assert not verify_inclusion(one, True, 2, [one], one)
    assert not verify_inclusion(one, 0, 2, [one + b"\x00"], node_hash(one, one))
    assert not verify_inclusion(one, 0, 2, ["00" * 32], node_hash(one, one))  # type: ignore[list-item]


def test_consistency_verifier_rejects_malformed_input() -> None:
    a, b = SOME_HASH, EMPTY_ROOT
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, a, [])
    assert verify_consistency(1, 1, a, a, [])
    assert not verify_consistency(0, 5, a, b, [])  # the empty tree has exactly one root
    assert not verify_consistency(0, 5, EMPTY_ROOT, a, [a])
    assert not verify_consistency(0, 0, a, b, [])
    assert not verify_consistency(1, 1, a, b, [])
    assert not verify_consistency(1, 1, a, a, [a])
    assert not verify_consistency(1, 0, a, b, [])
    assert not verify_consistency(2, 1, a, b, [a])
    assert not verify_consistency(-1, 1, a, b, [])
    assert not verify_consistency(1, 2, a, b, [])
    assert not verify_consistency(1, 2, a[:31], b, [a])
    assert not verify_consistency(1, 2, a, b, [a[:31]])
    assert not verify_consistency(3, 1 << 200, a, b, [a] * 300)


def test_proof_builders_refuse_positions_outside_the_tree() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(0, [])
    with pytest.raises(ValueError):
        inclusion_proof(3, DATA[:3])
    with pytest.raises(ValueError):
        inclusion_proof(-1, DATA[:3])
    with pytest.raises(ValueError):
        consistency_proof(4, DATA[:3])
    with pytest.raises(ValueError):
        consistency_proof(-1, DATA[:3])


# Signed checkpoints


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_signed_checkpoint_verifies_with_the_servers_public_key(key: Ed25519PrivateKey) -> None:
    checkpoint = sign_checkpoint(key, 8, bytes.fromhex(ROOTS[8]))
    assert checkpoint.size == 8 and checkpoint.root_hex == ROOTS[8]
    assert verify_checkpoint(checkpoint, public_key_pem(key))
    assert verify_checkpoint(checkpoint, public_key_pem(key).encode())


def test_a_checkpoint_survives_json_in_any_time_zone(key: Ed25519PrivateKey) -> None:
    for timestamp in (
        datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC),
        datetime(2025, 3, 1, 13, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1, minutes=30))),
    ):
        checkpoint = sign_checkpoint(key, 5, bytes.fromhex(ROOTS[5]), timestamp)
        text = checkpoint.model_dump_json()
        assert json.loads(text)["timestamp"].endswith("Z")
        assert json.loads(text)["timestamp"] in checkpoint.signed_body().decode()
        assert verify_checkpoint(Checkpoint.model_validate_json(text), public_key_pem(key))


def test_a_changed_checkpoint_fails(key: Ed25519PrivateKey) -> None:
    checkpoint = sign_checkpoint(key, 7, bytes.fromhex(ROOTS[7]))
    pem = public_key_pem(key)
    changes: list[dict[str, object]] = [
        {"size": 8},
        {"size": 6},
        {"root_hex": ROOTS[8]},
        {"timestamp": checkpoint.timestamp + timedelta(microseconds=1)},
        {"signature_b64": base64.b64encode(b"\x00" * 64).decode()},
        {"signature_b64": "not base64!"},
        {"signature_b64": ""},
    ]
    for change in changes:
        assert not verify_checkpoint(checkpoint.model_copy(update=change), pem), change


def test_a_checkpoint_fails_with_another_key(key: Ed25519PrivateKey) -> None:
    checkpoint = sign_checkpoint(key, 7, bytes.fromhex(ROOTS[7]))
    other = Ed25519PrivateKey.generate()
    assert not verify_checkpoint(checkpoint, public_key_pem(other))
    # Relabelled as the other key's checkpoint, the signature still gives it away.
    relabelled = checkpoint.model_copy(update={"key_id": sign_checkpoint(other, 0, EMPTY_ROOT).key_id})
    assert not verify_checkpoint(relabelled, public_key_pem(other))
    with pytest.raises(ValueError):
        verify_checkpoint(checkpoint, "not a key")


def test_the_signing_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "files" / "keys" / "audit.pem"
    key = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_pem(load_or_create_signing_key(path)) == public_key_pem(key)
    assert [p.name for p in path.parent.iterdir()] == ["audit.pem"]
    checkpoint = sign_checkpoint(key, 1, bytes.fromhex(ROOTS[1]))
    assert verify_checkpoint(checkpoint, public_key_pem(load_or_create_signing_key(path)))


def test_the_key_has_its_own_setting_outside_the_file_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CELLPROV_AUDIT_KEY_FILE", raising=False)
    default = Settings(files_dir=tmp_path / "files").audit_key_file
    assert not default.resolve().is_relative_to((tmp_path / "files").resolve())
    monkeypatch.setenv("CELLPROV_AUDIT_KEY_FILE", str(tmp_path / "secret" / "key.pem"))
    assert Settings().audit_key_file == tmp_path / "secret" / "key.pem"


def test_a_key_kept_in_the_file_store_moves_to_its_own_place(tmp_path: Path) -> None:
    legacy = tmp_path / "files" / "keys" / "audit-checkpoint-ed25519.pem"
    key = load_or_create_signing_key(legacy)
    target = tmp_path / "keys" / "audit.pem"
    assert adopt_key_from_file_store(tmp_path / "files", target)
    assert not legacy.exists() and not legacy.parent.exists()
    assert public_key_pem(load_or_create_signing_key(target)) == public_key_pem(key)
    assert not adopt_key_from_file_store(tmp_path / "files", target)  # nothing left to move


def test_a_key_file_with_another_kind_of_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(ec_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    os.chmod(path, 0o600)
    with pytest.raises(ValueError):
        load_or_create_signing_key(path)


# The client keeps checkpoints and checks the server against them


def test_the_client_accepts_a_growing_log_and_refuses_a_rewritten_one(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    kept = tmp_path / "checkpoints.jsonl"
    pem = public_key_pem(key)
    events = DATA[:30]

    def checkpoint_at(size: int, leaves: list[bytes] = events) -> Checkpoint:
        return sign_checkpoint(key, size, root(leaves[:size]))

    def proof_between(old: int, new: int, leaves: list[bytes] = events) -> ConsistencyProof:
        hashes = consistency_proof(old, leaves[:new])
        return ConsistencyProof(old_size=old, new_size=new, proof=[h.hex() for h in hashes])

    assert accept_checkpoint(kept, checkpoint_at(10), None, pem) is None
    checked_against = accept_checkpoint(kept, checkpoint_at(17), proof_between(10, 17), pem)
    assert checked_against is not None and checked_against.size == 10
    checked_against = accept_checkpoint(kept, checkpoint_at(17), proof_between(17, 17), pem)
    assert checked_against is not None and checked_against.size == 17
    assert [c.size for c in read_kept_checkpoints(kept)] == [10, 17]

    rewritten = [*events[:12], b"backdated", *events[13:]]
    with pytest.raises(ProofError, match="not an extension"):
        accept_checkpoint(kept, checkpoint_at(25, rewritten), proof_between(17, 25, rewritten), pem)
    with pytest.raises(ProofError, match="shrank"):
        accept_checkpoint(kept, checkpoint_at(12), proof_between(12, 17), pem)
    with pytest.raises(ProofError, match="sizes 10→25"):
        accept_checkpoint(kept, checkpoint_at(25), proof_between(10, 25), pem)
    with pytest.raises(ProofError, match="is needed"):
        accept_checkpoint(kept, checkpoint_at(25), None, pem)
    with pytest.raises(ProofError, match="not signed"):
        other = Ed25519PrivateKey.generate()
        accept_checkpoint(kept, sign_checkpoint(other, 25, root(events[:25])), proof_between(17, 25), pem)
    assert [c.size for c in read_kept_checkpoints(kept)] == [10, 17]


def test_the_client_checks_an_event_is_in_a_checkpoint(key: Ed25519PrivateKey) -> None:
    events = DATA[:21]
    checkpoint = sign_checkpoint(key, 21, root(events))

    def proof_of(index: int) -> InclusionProof:
        hashes = inclusion_proof(index, events)
        return InclusionProof(
            index=index, size=21, leaf_hash=leaf_hash(events[index]).hex(), proof=[h.hex() for h in hashes]
        )

    check_inclusion(events[13], proof_of(13), checkpoint)
    with pytest.raises(ProofError, match="another leaf"):
        check_inclusion(b"not logged", proof_of(13), checkpoint)
    with pytest.raises(ProofError, match="not at index 14"):
        check_inclusion(
            events[14],
            proof_of(13).model_copy(update={"index": 14, "leaf_hash": leaf_hash(events[14]).hex()}),
            checkpoint,
        )
    with pytest.raises(ProofError, match="size 21, the checkpoint for 20"):
        check_inclusion(events[13], proof_of(13), sign_checkpoint(key, 20, root(events[:20])))


def test_check_consistency_names_the_sizes_it_was_given(key: Ed25519PrivateKey) -> None:
    old = sign_checkpoint(key, 3, root(DATA[:3]))
    new = sign_checkpoint(key, 9, root(DATA[:9]))
    hashes = [h.hex() for h in consistency_proof(3, DATA[:9])]
    check_consistency(old, new, ConsistencyProof(old_size=3, new_size=9, proof=hashes))
    with pytest.raises(ProofError, match="not an extension"):
        check_consistency(old, new, ConsistencyProof(old_size=3, new_size=9, proof=hashes[:-1]))


def test_a_damaged_checkpoints_file_is_reported_with_its_line(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text(sign_checkpoint(key, 1, root(DATA[:1])).model_dump_json() + "\n{broken\n")
    with pytest.raises(ValueError, match=r"checkpoints\.jsonl:2"):
        read_kept_checkpoints(kept)
