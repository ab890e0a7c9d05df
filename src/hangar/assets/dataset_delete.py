"""Deleting a dataset, basic or annotated, for the API and the console alike.

The rows go in the caller's transaction; the files the platform kept for the dataset (its
platform folder, staged imports, cached copies of its versions) are returned as
:class:`Leftovers` to remove once that transaction has committed. A failed commit then loses
nothing, and a crash in between leaves only folders nothing points at. Tenant storage is never
touched (decision G1).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from hangar.assets import annotated, datasets, mounts
from hangar.assets.dataset_orm import Dataset
from hangar.tenancy.access import Actor


@dataclass(frozen=True)
class Leftovers:
    folders: tuple[Path, ...]

    def remove(self) -> None:
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)


def do_delete(
    session: Session, *, actor: Actor, home: Path, cache_dir: Path | None, dataset_id: str,
    confirm: bool,
) -> Leftovers:  # fmt: skip
    """Delete the dataset (rows 8, 26): refused while importing, while it is another's
    confidential output, and — naming them — while running work mounts it unless
    ``confirm``."""
    dataset = session.get(Dataset, dataset_id)
    basic = dataset is not None and dataset.kind == "basic"
    point = "basic_dataset.delete" if basic else "dataset.delete"
    found = datasets.access_dataset(session, actor, dataset_id, point, write=True)
    datasets.check_deletable(session, found, mounts.users_of(session, "dataset", dataset_id),
                             confirm)  # fmt: skip
    folders = [home / "datasets" / dataset_id]
    if basic:
        session.delete(found.dataset)
    else:
        if cache_dir is not None:
            folders += [cache_dir / "datasets" / v.id
                        for v in annotated.versions(session, found.dataset)]  # fmt: skip
        annotated.do_delete(session, access=found)
    return Leftovers(tuple(folders))
