"""Why a script CID cannot make a job: Apillon needs the dag-pb (UnixFS) CID of the script file."""

from __future__ import annotations

from typing import Any, cast

from pydantic import ValidationError, ValidatorFunctionWrapHandler

from apillon_mcp.tools.argument_errors import argument_problem

_FROM_SOURCE = "deploy_cloud_function_script uploads a script and computes its CID for you"


def explain_script_cid(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
    """The value, when it has the form of a usable CID; the reason Apillon would refuse it, when it is another CID."""
    try:
        return cast(str, handler(value))
    except ValidationError:
        reason = refusal_reason(value) if isinstance(value, str) else None
        if reason is None:
            raise
        raise argument_problem(reason) from None


def refusal_reason(text: str) -> str | None:
    """Why Apillon cannot use this CID for a job; None when it is no CID at all."""
    from multiformats import CID  # imported on first use: it takes longer to import than the server to start

    try:
        cid = CID.decode(text.strip())
    except Exception:  # multiformats raises several unrelated types (KeyError among them) for text that is no CID
        return None
    if cid.codec.name == "raw":
        return (
            "is a raw-leaves CID (bafkrei…, what `ipfs add --cid-version 1` or `--raw-leaves` prints): Apillon needs "
            "the dag-pb CID of the script file, Qm… or bafybei… (what a plain `ipfs add` prints). "
            f"{_FROM_SOURCE}."
        )
    if cid.codec.name != "dag-pb":
        return (
            f"is the CID of {cid.codec.name} data, not of a file: Apillon needs the dag-pb CID of the script file, "
            f"Qm… or bafybei…. {_FROM_SOURCE}."
        )
    if cid.hashfun.name != "sha2-256":
        return f"uses the hash {cid.hashfun.name}: Apillon needs a sha2-256 CID, Qm… or bafybei…. {_FROM_SOURCE}."
    return "is a dag-pb CID in another form than Apillon takes: give it as Qm… (CIDv0) or bafybei… (CIDv1, base32)."
