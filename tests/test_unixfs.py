"""CIDs computed offline must equal what `ipfs add` (ipfs-unixfs-importer defaults) gives for the same bytes.

The multi-chunk vectors come from ipfs-unixfs-importer 7.0.1 run under Node.js (cidVersion 0; the CIDv1 is that
root's `toV1()` in base32), on the inputs built by `pattern` and `letter_a` below.
"""

from collections.abc import Callable, Sequence

import pytest

from apillon_mcp.unixfs import CHUNK_SIZE, MAX_LINKS, FileCids, balanced_root, file_cids, to_cid_v0


def pattern(size: int) -> bytes:
    """Bytes 0, 1, …, 250, 0, 1, … (`i % 251`), so that no two chunks are alike."""
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def letter_a(size: int) -> bytes:
    return b"a" * size


def text(value: bytes) -> Callable[[int], bytes]:
    return lambda size: value[:size]


# Inputs are (builder, size) so that the 45 MB ones exist only while their test runs.
@pytest.mark.parametrize(
    ("build", "size", "v0", "v1"),
    [
        (
            text(b"hello world\n"),
            12,
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
            "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby",
        ),
        (
            text(b""),
            0,
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
            "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y",
        ),
        (
            letter_a,
            CHUNK_SIZE,
            "Qma81h2ZqbvJW2EQkiVUZ17aSvNWqAtvUPhh8mQBPU8W7c",
            "bafybeifpb5vjk22v7ap5axs3yac5abaqrbb6d2csqvujnkn2lhoqucpedm",
        ),
        (
            letter_a,
            CHUNK_SIZE + 1,
            "QmTaxvXcxpzzaatSEEAYr7t3knkJ6DmTVbr8MjJJWLRWpV",
            "bafybeicn6uusthv22nszg5buwuqhlrroz4vk7dwvx3ke7qgcpvatgyxzuy",
        ),
        (
            pattern,
            1_000_000,
            "QmVUbzigHKQR2y8wSt2KwZp92AC9Utfms5nEUHwttK4Yq9",
            "bafybeidkbnrp63gg3adnscxc3dwiawxsd6nid5b5figqjcb35uttzrgkpq",
        ),
        (
            pattern,
            MAX_LINKS * CHUNK_SIZE,
            "QmXCym15aFeWjAWyPFaAgwVmkuKB7EBsV77Skt54KmxChF",
            "bafybeiedyijv7v7z2bgdzkiwrklkvr5fbfcujpwfvnhiy7dp4x2kcw66ai",
        ),
        (
            pattern,
            MAX_LINKS * CHUNK_SIZE + 1,
            "QmTedsTekQQkgACJXb1sPZSW8bLdS9LPMrT7L4YdjNRd4n",
            "bafybeico4xynv2mj75g6amn2dxu5mjd6rwdgi734votgwf5n2wes56v3xm",
        ),
    ],
    ids=["hello-world", "empty", "one-full-chunk", "two-chunks", "four-chunks", "174-chunks", "two-levels"],
)
def test_file_cids_match_ipfs_add_defaults(build: Callable[[int], bytes], size: int, v0: str, v1: str) -> None:
    content = build(size)

    assert len(content) == size
    assert file_cids(content) == FileCids(v0=v0, v1=v1)


def test_the_cid_v1_is_the_same_root_as_the_cid_v0() -> None:
    cids = file_cids(pattern(3 * CHUNK_SIZE))

    assert to_cid_v0(cids.v1) == cids.v0


def test_a_lone_leaf_is_its_own_root() -> None:
    assert balanced_root(["leaf"], lambda children: f"({' '.join(children)})") == "leaf"


def test_the_balanced_layout_gives_every_group_a_parent_and_stacks_levels() -> None:
    def parent(children: Sequence[str]) -> str:
        return f"({' '.join(children)})"

    leaves = [str(n) for n in range(7)]

    assert balanced_root(leaves[:3], parent, max_links=3) == "(0 1 2)"
    assert balanced_root(leaves, parent, max_links=3) == "((0 1 2) (3 4 5) (6))"
    assert balanced_root([str(n) for n in range(10)], parent, max_links=3) == "(((0 1 2) (3 4 5) (6 7 8)) ((9)))"


def test_the_balanced_layout_needs_a_leaf() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        balanced_root([], "".join)


@pytest.mark.parametrize(
    "cid",
    [
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
        "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby",
        "zdj7WaCPMsy3FP2whSwpFXHjDEaTVmjnddYSn5W2Gdn4aEZFj",
    ],
    ids=["v0", "v1-base32", "v1-base58"],
)
def test_a_dag_pb_sha256_cid_converts_to_its_cid_v0(cid: str) -> None:
    assert to_cid_v0(cid) == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


@pytest.mark.parametrize(
    "cid",
    [
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        "bafybgqg5v422de3bpk5myqltjgxcaqjrcltputujvf7kecu653tewvottiqzfgjke5h4dkbwxi6chi765o6uktkeensdz2aofknmst5fjssj6",
        "Qm123",
        "not-a-cid",
        "",
    ],
    ids=["raw-codec", "sha2-512", "short-v0", "garbage", "empty"],
)
def test_a_cid_without_a_v0_form_is_a_value_error(cid: str) -> None:
    with pytest.raises(ValueError, match="has a CIDv0 form"):
        to_cid_v0(cid)
