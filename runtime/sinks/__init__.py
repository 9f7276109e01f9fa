"""Sink writers of the runtime. File sinks are exactly once (docs/guarantees.md)."""

from flowc.runtime.sinks.backends import SinkRestoreError
from flowc.runtime.sinks.file_writer import FileSinkWriter
from flowc.runtime.sinks.rotation import Rotation, rotated_path

__all__ = ["FileSinkWriter", "Rotation", "SinkRestoreError", "rotated_path"]
