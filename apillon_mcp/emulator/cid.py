"""Script CID normalisation: the backend stores every job's `scriptCid` as CIDv0 (apillon-api.md §5.4)."""

from multiformats import CID

from apillon_mcp.emulator.errors import EmulatedError

# The backend asks an internal lambda for the conversion; when it refuses, axios' own message surfaces.
_REJECTED = "Request failed with status code 400"


def to_cid_v0(text: str) -> str:
    """`Qm…` stays as is, a dag-pb sha2-256 CIDv1 becomes its `Qm…`, anything else is a 500 type-E error."""
    try:
        return str(CID.decode(text).set(version=0, base="base58btc"))
    except Exception as error:  # multiformats raises several unrelated types for malformed input
        raise EmulatedError.unhandled(500, _REJECTED) from error
