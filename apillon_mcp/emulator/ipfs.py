"""`GET /ipfs/<cid>`: the emulator's stand-in for Apillon's IPFS gateway, where a stored file's `link` points."""

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from apillon_mcp.emulator.state import EmulatorState


class IpfsRoutes:
    """Serves the bytes of any stored file by its CID, v0 or v1, without credentials."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def routes(self) -> list[BaseRoute]:
        return [Route("/ipfs/{cid}", self.get, methods=["GET"])]

    async def get(self, request: Request) -> Response:
        content = self._state.file_content_by_cid(request.path_params["cid"])
        if content is None:
            return PlainTextResponse("no file with this CID is on IPFS", status_code=404)
        return Response(content, media_type="application/octet-stream")
