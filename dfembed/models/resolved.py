"""A model found on disk: its folder, its description, its files and their fingerprint.

What :func:`~dfembed.models.resolve.resolve` returns and every encoder is built from. Its
file list is :mod:`dfembed.models.file_names`' (what the description names) and the graph's
external weight files (what only the graph names).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ModelNotFoundError
from .file_names import described_files
from .files import confined_file
from .info import ModelInfo
from .onnx_graph import external_data_files


@dataclass(frozen=True)
class ResolvedModel:
    """A model's folder on disk and how to run it.

    ``local`` is true for a folder named by its path: its name then says only how the path
    was spelled, and the files' :attr:`fingerprint` alone identifies the model.
    """

    folder: Path
    info: ModelInfo
    local: bool = False

    @property
    def onnx_path(self) -> Path:
        """The ONNX graph, checked as :meth:`file` checks; :class:`ModelNotFoundError` if none."""
        path = self.file(self.info.onnx_file, "The ONNX graph")
        if path is None:
            raise ModelNotFoundError(f"No ONNX file {self.info.onnx_file!r} in {self.folder}.")
        return path

    def file(self, name: str, what: str = "The model file") -> Path | None:
        """A file of the model's folder, or ``None`` when the model has no such file. Every
        model file is found here: one that is not a regular file inside the folder is a
        :class:`ModelLoadError` (:func:`~dfembed.models.files.confined_file`)."""
        return confined_file(self.folder, name, what)

    def present(self, names: list[str]) -> list[Path]:
        """The files of ``names`` the folder has, each checked as :meth:`file` checks."""
        return [path for name in names if (path := self.file(name)) is not None]

    def weight_files(self) -> list[str]:
        """The external weight files the ONNX graph names, as paths in the folder.

        Read from the graph (only the graph knows them: ``model.onnx_data``,
        ``model.onnx.data``, one file per tensor, ...).
        """
        graph = self.file(self.info.onnx_file, "The ONNX graph") if self.info.onnx_file else None
        if graph is None:
            return []
        base = PurePosixPath(self.info.onnx_file).parent
        return [(base / name).as_posix() for name in external_data_files(graph)]

    def files(self) -> list[str]:
        """Every file the model uses: those its description names
        (:func:`~dfembed.models.file_names.described_files`) and the graph's external weight
        files. Fingerprinted, downloaded and checksum-verified alike."""
        named = described_files(self.info.onnx_file, self.info.kind)
        return sorted({*named, *self.weight_files()})

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the model's files (the ones :meth:`files` names) and names.

        Identifies the exact weights and tokenizer whatever the folder is called, so the
        embedding cache can tell a retrained or re-exported model from the one it stored.
        """
        digest = hashlib.sha256()
        for name in self.files():
            path = self.file(name)
            if path is None:
                continue
            digest.update(f"{name}\0{path.stat().st_size}\0".encode())
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        return digest.hexdigest()
