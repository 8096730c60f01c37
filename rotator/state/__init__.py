"""What the rotator remembers between runs, kept in a :class:`~rotator.ports.StateStore`: each managed
secret's journal, the rotation lease, and alert delivery state. :class:`StateLayout` names where each lives."""

from rotator.state.delivery import DeliveryStateStore
from rotator.state.journal import JournalStore
from rotator.state.layout import StateLayout
from rotator.state.lease import Lease, new_holder_id

__all__ = ["DeliveryStateStore", "JournalStore", "Lease", "StateLayout", "new_holder_id"]
