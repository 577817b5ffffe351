"""Where the multipart parser writes an uploaded file.

By default Werkzeug spools a file part to an anonymous temporary file, and the
pipeline then copied it once more while hashing it: 50 MiB written twice and
read twice. Here the parser writes straight into the upload work folder
(private to the registry), so the pipeline only renames the file. The SHA-256
recorded is the one the store computes of the bytes it encrypts: hashing here
too cost a tenth of the upload's time.
"""

from __future__ import annotations

import io
import os
import tempfile


class UploadSpool(io.RawIOBase):
    def __init__(self, folder: str) -> None:
        super().__init__()
        os.makedirs(folder, mode=0o700, exist_ok=True)
        descriptor, self.path = tempfile.mkstemp(dir=folder, prefix="upload-")
        self._file = os.fdopen(descriptor, "w+b")
        self.size = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.size += len(data)
        return self._file.write(data)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._file.readinto(buffer)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def move_to(self, target: str) -> None:
        """Hand the file over (same file system): it is then the caller's to delete."""
        self._file.flush()
        os.replace(self.path, target)
        self.path = ""

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            if self.path:
                os.unlink(self.path)
        super().close()
