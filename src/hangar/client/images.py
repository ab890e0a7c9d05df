"""Images (``/api/v1/images``) and "make image" from a dev environment."""

from __future__ import annotations

import builtins
import time

from hangar.client.errors import HangarLookupError
from hangar.client.transport import Transport, payload, segment
from hangar.images.schemas import ImageMake, ImageRead

IMAGES = "/api/v1/images"
DONE = ("ready", "failed", "cancelled")


class ImagesAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> builtins.list[ImageRead]:
        return self._t.get_list(ImageRead, IMAGES)

    def get(self, image_id: str) -> ImageRead:
        return self._t.get(ImageRead, f"{IMAGES}/{segment(image_id)}")

    def find(self, ref: str) -> ImageRead:
        """By id, ``name`` (newest version) or ``name:V<n>``."""
        name, _, version = ref.partition(":V")
        found = [
            i for i in self.list()
            if i.id == ref or (i.name == name and (not version or str(i.version) == version))
        ]  # fmt: skip
        if not found:
            raise HangarLookupError("image", ref)
        return max(found, key=lambda i: (i.id == ref, i.version))

    def make(self, env_id: str, *, name: str, description: str = "") -> ImageRead:
        """Queue an image of a dev environment's installed software."""
        body = payload(ImageMake, name=name, description=description)
        path = f"/api/v1/devenvs/{segment(env_id)}/image"
        return self._t.send(ImageRead, "POST", path, json=body)

    def cancel(self, image_id: str) -> ImageRead:
        return self._t.send(ImageRead, "POST", f"{IMAGES}/{segment(image_id)}/cancel")

    def wait(self, image_id: str, *, timeout: float = 600.0) -> ImageRead:
        """Poll until the image is ready, failed or cancelled."""
        deadline = time.monotonic() + timeout
        while True:
            image = self.get(image_id)
            if image.status in DONE:
                return image
            if time.monotonic() > deadline:
                raise TimeoutError(f"image '{image.name}' V{image.version} is still {image.status}")
            time.sleep(0.5)
