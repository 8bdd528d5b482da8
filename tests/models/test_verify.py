"""Hub cache blobs checked against the sha256 they are named by: :mod:`dfembed.models.verify`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dfembed.errors import ModelLoadError
from dfembed.models import verify


@pytest.fixture
def markers(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "verified"
    monkeypatch.setenv("DFEMBED_VERIFIED_DIR", str(folder))
    return folder


def _snapshot(root: Path, data: bytes, name: str | None = None) -> Path:
    """A Hugging Face cache layout: ``snapshots/rev/model.onnx`` linking to ``blobs/<name>``
    (by default the sha256 of ``data``, as the hub names large files)."""
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blob = blobs / (name or hashlib.sha256(data).hexdigest())
    blob.write_bytes(data)
    link = root / "snapshots" / "rev" / "model.onnx"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(Path("../../blobs") / blob.name)
    return link


def test_a_good_blob_is_hashed_once_then_remembered(tmp_path, markers, monkeypatch):
    data = b"onnx bytes"
    link = _snapshot(tmp_path, data)
    verify.verify_snapshot(link.parent, [link])
    assert (markers / hashlib.sha256(data).hexdigest()).exists()
    monkeypatch.setattr(verify, "file_sha256", lambda path: pytest.fail("hashed again"))
    verify.verify_snapshot(link.parent, [link])


def test_a_corrupted_blob_is_refused_and_deleted(tmp_path, markers):
    announced = hashlib.sha256(b"what the hub announced").hexdigest()
    link = _snapshot(tmp_path, b"a truncated download", name=announced)
    blob = link.resolve()
    with pytest.raises(ModelLoadError, match=r"model.onnx in .* does not match the hub's") as e:
        verify.verify_snapshot(link.parent, [link])
    assert f"instead of {announced[:12]}..." in str(e.value) and "run again" in str(e.value)
    assert not blob.exists() and not link.is_symlink()  # the next run downloads it again
    assert not markers.exists() or not any(markers.iterdir())


def test_files_that_are_not_hub_blobs_are_left_alone(tmp_path, markers, monkeypatch):
    monkeypatch.setattr(verify, "file_sha256", lambda path: pytest.fail("hashed"))
    plain = tmp_path / "folder" / "model.onnx"
    plain.parent.mkdir()
    plain.write_bytes(b"a local model")
    # a link, but to a file not named by a sha256 in a blobs/ folder
    elsewhere = tmp_path / "other" / ("0" * 64)
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"x")
    link = tmp_path / "folder" / "linked.onnx"
    link.symlink_to(elsewhere)
    verify.verify_snapshot(plain.parent, [plain, link])
    assert plain.exists() and elsewhere.exists() and not markers.exists()


def test_an_unwritable_marker_folder_still_loads_and_checks_again(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("DFEMBED_VERIFIED_DIR", str(blocked / "verified"))
    link = _snapshot(tmp_path, b"onnx bytes")
    hashed = []
    real = verify.file_sha256
    monkeypatch.setattr(verify, "file_sha256", lambda path: hashed.append(path) or real(path))
    verify.verify_snapshot(link.parent, [link])
    verify.verify_snapshot(link.parent, [link])
    assert len(hashed) == 2


def test_file_sha256_reads_past_one_chunk(tmp_path):
    data = bytes(range(256)) * (verify._CHUNK // 256 * 2 + 3)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert verify.file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_a_verified_hub_blob_is_named_by_its_hash_not_hashed_again(tmp_path, monkeypatch):
    data = b"onnx bytes"
    digest = hashlib.sha256(data).hexdigest()
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / digest).write_bytes(data)
    link = tmp_path / "model.onnx"
    link.symlink_to(blobs / digest)
    monkeypatch.setenv("DFEMBED_VERIFIED_DIR", str(tmp_path / "verified"))
    assert verify.content_sha256(link) == digest  # not verified yet: hashed
    verify.verify_snapshot(tmp_path, [link])
    monkeypatch.setattr(verify, "file_sha256", lambda path: pytest.fail("hashed again"))
    assert verify.content_sha256(link) == digest
