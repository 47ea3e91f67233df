"""Where an uploaded file goes in its bucket: the path rule of the upload DTO."""


def upload_path(path: str | None) -> str | None:
    """The DTO's setter: leading slashes go, one trailing slash is added (so "/" stays "/")."""
    if not path:
        return path
    path = path.lstrip("/")
    return path if path.endswith("/") else f"{path}/"
