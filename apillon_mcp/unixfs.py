"""IPFS CIDs of a file's bytes, computed offline exactly as `ipfs add` does with its defaults.

That is `ipfs-unixfs-importer`'s defaults with `rawLeaves: false`: UnixFS `File` nodes in dag-pb, fixed-size chunks
of 256 KiB, a balanced DAG with at most 174 links per node, sha2-256. Both the emulator and the client use it.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

CHUNK_SIZE = 262_144
MAX_LINKS = 174

_UNIXFS_FILE = 2
_SHA2_256 = b"\x12\x20"  # multihash prefix: sha2-256, 32-byte digest
_VARINT, _LENGTH_DELIMITED = 0, 2
Node = TypeVar("Node")


@dataclass(frozen=True)
class FileCids:
    """The same DAG root as CIDv0 (`Qm…`) and as dag-pb CIDv1 in base32 (`bafybei…`)."""

    v0: str
    v1: str


@dataclass(frozen=True)
class _Block:
    multihash: bytes
    tsize: int  # what a parent's link records: this block's size plus its descendants' blocks
    content_size: int  # file bytes under this block


def file_cids(content: bytes) -> FileCids:
    """The CIDs `ipfs add` gives `content` (CIDv1 is the v0 root re-encoded, as an IPFS node reports it).

    `ipfs-unixfs-importer` run with `cidVersion: 1` links to its children by CIDv1, so for files larger than one
    chunk it produces a different root than this.
    """
    chunks = [content[offset : offset + CHUNK_SIZE] for offset in range(0, len(content), CHUNK_SIZE)] or [b""]
    root = balanced_root([_leaf(chunk) for chunk in chunks], _parent)
    from multiformats import CID  # imported on first use: it takes longer to import than the server to start

    cid = CID("base58btc", 0, "dag-pb", root.multihash)
    return FileCids(v0=str(cid), v1=str(cid.set(version=1, base="base32")))


def to_cid_v0(cid: str) -> str:
    """`Qm…` as is; a dag-pb sha2-256 CIDv1 (any multibase) as its `Qm…`; ValueError for anything else."""
    from multiformats import CID

    try:
        return str(CID.decode(cid).set(version=0, base="base58btc"))
    except Exception as error:  # multiformats raises several unrelated types (KeyError among them) for bad input
        raise ValueError(f"{cid!r} is not a CID that has a CIDv0 form (dag-pb, sha2-256)") from error


def balanced_root(leaves: Sequence[Node], parent: Callable[[Sequence[Node]], Node], max_links: int = MAX_LINKS) -> Node:
    """The balanced layout: parents of up to `max_links` consecutive nodes, level by level, until one node is left.

    A lone leaf is its own root; otherwise every level, the last group included, gets a parent.
    """
    if not leaves:
        raise ValueError("a DAG needs at least one leaf")
    level = list(leaves)
    while len(level) > 1:
        level = [parent(level[start : start + max_links]) for start in range(0, len(level), max_links)]
    return level[0]


def _leaf(chunk: bytes) -> _Block:
    unixfs = _key(1, _VARINT) + _varint(_UNIXFS_FILE)
    if chunk:  # an empty chunk has no Data field at all
        unixfs += _bytes_field(2, chunk)
    unixfs += _key(3, _VARINT) + _varint(len(chunk))
    block = _bytes_field(1, unixfs)
    return _Block(_sha2_256(block), len(block), len(chunk))


def _parent(children: Sequence[_Block]) -> _Block:
    content_size = sum(child.content_size for child in children)
    unixfs = _key(1, _VARINT) + _varint(_UNIXFS_FILE) + _key(3, _VARINT) + _varint(content_size)
    unixfs += b"".join(_key(4, _VARINT) + _varint(child.content_size) for child in children)
    # dag-pb's canonical form puts the Links (field 2) before the Data (field 1); every link carries an empty Name.
    links = b"".join(
        _bytes_field(
            2, _bytes_field(1, child.multihash) + _bytes_field(2, b"") + _key(3, _VARINT) + _varint(child.tsize)
        )
        for child in children
    )
    block = links + _bytes_field(1, unixfs)
    return _Block(_sha2_256(block), len(block) + sum(c.tsize for c in children), content_size)


def _sha2_256(block: bytes) -> bytes:
    return _SHA2_256 + hashlib.sha256(block).digest()


def _bytes_field(number: int, value: bytes) -> bytes:
    return _key(number, _LENGTH_DELIMITED) + _varint(len(value)) + value


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
