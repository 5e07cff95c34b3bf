"""The evidence store under concurrent writers (#4 review: a shared temporary name collided)."""

from __future__ import annotations

import threading

from tests.web_client import jpeg_photo
from xiaohao.adapters.evidence import evidence_path, store_bytes, thumbnail


def test_the_same_file_stored_and_thumbnailed_by_many_at_once(tmp_path):
    photo = jpeg_photo((800, 600))
    errors, thumbs = [], []

    def store_and_thumb() -> None:
        try:
            item = store_bytes(photo, "same.jpg", tmp_path, 2**20)
            thumbs.append(thumbnail(tmp_path, item.sha256))
        except Exception as error:   # any failure at all is the defect
            errors.append(error)

    for _ in range(10):
        threads = [threading.Thread(target=store_and_thumb) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors and len(thumbs) == 80 and all(t is not None for t in thumbs)
    stored = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert stored == {thumbs[0], evidence_path(tmp_path, thumbs[0].stem)}   # no leftovers
