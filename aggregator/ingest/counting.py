"""Which newly stored items count as boilerplate evidence: one home for the rule, used by
the decider's own poll (it counts what it stores) and by the decider's drain (it counts
what any process stored).

Every new item's short blocks count for its feed, but an item another feed stored before
under the same canonical link and text is the same item listed again (a site's category
feed repeating its main feed): its blocks are no independent evidence that a block
recurs, and counting them would make a story and its update a network footer.
"""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.clean.boilerplate import Evidence, evidence, fold_text
from aggregator.storage import Storage


def countable(
    storage: Storage, items: Sequence[tuple[int, str, str | None]]
) -> dict[int, Evidence]:
    """The evidence of each new item (``(item_id, text, title)``) that counts, by id, in
    the order given: those not relisted (:meth:`Storage.relisted`)."""
    if not items:
        return {}
    relisted = storage.relisted([item_id for item_id, _, _ in items])
    return {
        item_id: evidence(fold_text(text), title)
        for item_id, text, title in items
        if item_id not in relisted
    }
