"""The small vocabularies of the resources domain, as enums the API and the CLI share."""

from __future__ import annotations

from enum import StrEnum

from hangar.backends.inventory import DeviceSource as Source  # DISCOVERED | DECLARED
from hangar.scheduling.model import WorkloadType  # decision B1, shared with the scheduler

__all__ = ["ClusterKind", "Policy", "QueueRole", "Source", "Status", "WorkloadType"]


class ClusterKind(StrEnum):
    DEFAULT = "default"  # the platform's public cluster: on demand, queues only (C1)
    DEDICATED = "dedicated"  # bought by one tenant: split into quotas or queues (C1)


class Status(StrEnum):
    """A quota's or queue's switch (RQ15, Q10): stopped accepts and lends nothing (B10)."""

    STARTED = "started"
    STOPPED = "stopped"


class Policy(StrEnum):
    """A quota's admission policy (``hangar.scheduling.model.POLICIES``)."""

    FIFO = "fifo"  # strict FIFO, head-of-line blocking (RQ10): the default
    BEST_EFFORT = "best_effort"  # a waiting head does not hold back the work behind it


class QueueRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


DEFAULT_CLUSTER = "default"
DEFAULT_QUEUE = "default"
INSTANCE_CARDS = (1, 2, 4, 8)  # quota and queue instance specs (RQ4)
