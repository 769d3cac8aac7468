"""Errors that the CLI turns into one readable line (no stack trace)."""


class EvalkitError(Exception):
    """Bad input or configuration; the message names the file, line or config key."""


class DataFormatError(EvalkitError):
    def __init__(self, path, line: int | None, message: str):
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
