"""Images (``/api/v1/images``): listing (preset, custom, shared with you), version lists,
"make image" from a dev environment, and sharing custom images."""

from __future__ import annotations

import builtins
import time
from datetime import datetime

from hangar.client.errors import HangarLookupError
from hangar.client.transport import UNSET, Transport, Unset, payload, segment
from hangar.images.schemas import (
    ImageMake,
    ImageNameRead,
    ImageRead,
    ImageShareCreate,
    ImageShareRead,
    ImageShareUpdate,
)

IMAGES = "/api/v1/images"
DONE = ("ready", "failed", "cancelled")


class ImagesAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, *, source: str | None = None) -> builtins.list[ImageRead]:
        """Images you can select; ``source``: ``preset``, ``custom`` (yours) or ``shared``
        (shared with you by others)."""
        return self._t.get_list(ImageRead, IMAGES, params={"source": source})

    def names(self, *, source: str | None = None) -> builtins.list[ImageNameRead]:
        """One entry per image name: version count, created, updated and its versions."""
        return self._t.get_list(ImageNameRead, f"{IMAGES}/names", params={"source": source})

    def versions(self, name: str) -> ImageNameRead:
        """The versions of one image name, newest first."""
        return self._t.get(ImageNameRead, f"{IMAGES}/names/{segment(name)}/versions")

    def share(
        self,
        name: str,
        *,
        user_id: str | None = None,
        username: str | None = None,
        tenant_name: str | None = None,
        expires_at: datetime | None = None,
        enabled: bool = True,
    ) -> ImageShareRead:
        """Share every version of custom image ``name`` with a user of your tenant or with
        every user of another tenant, until ``expires_at`` (None: no end)."""
        body = payload(
            ImageShareCreate, user_id=user_id, username=username, tenant_name=tenant_name,
            expires_at=expires_at, enabled=enabled,
        )  # fmt: skip
        path = f"{IMAGES}/names/{segment(name)}/shares"
        return self._t.send(ImageShareRead, "POST", path, json=body)

    def shares(self, name: str) -> builtins.list[ImageShareRead]:
        return self._t.get_list(ImageShareRead, f"{IMAGES}/names/{segment(name)}/shares")

    def update_share(
        self,
        share_id: str,
        *,
        enabled: bool | Unset = UNSET,
        expires_at: datetime | Unset | None = UNSET,
    ) -> ImageShareRead:
        """Enable or disable a share, or change its end (``expires_at=None``: no end)."""
        body = payload(ImageShareUpdate, enabled=enabled, expires_at=expires_at)
        path = f"{IMAGES}/shares/{segment(share_id)}"
        return self._t.send(ImageShareRead, "PATCH", path, json=body)

    def unshare(self, share_id: str) -> None:
        self._t.request("DELETE", f"{IMAGES}/shares/{segment(share_id)}")

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
