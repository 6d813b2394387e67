"""The embedded stack keeps its data in this process (moto's backends): full garbage collections must not
walk it again and again (infra.stack.freeze_survivors_of_full_collections)."""

from __future__ import annotations

import gc

from infra.stack import freeze_survivors_of_full_collections


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_what_survives_a_full_collection_is_not_walked_again_and_garbage_still_goes():
    freeze_survivors_of_full_collections()
    freeze_survivors_of_full_collections()  # once per process, however often a stack starts
    assert sum(1 for callback in gc.callbacks if callback.__name__ == "_freeze_survivors") == 1
    table = [{"pk": f"CASE#{n}", "attributes": {"n": [n]}} for n in range(20_000)]  # a live heap
    gc.collect()

    assert gc.get_freeze_count() >= len(table)  # the survivors are out of the collector's sight
    walked = {id(tracked) for tracked in gc.get_objects(generation=2)}
    assert not any(id(item) in walked for item in table)  # the next full collection does not walk them

    garbage = Node()
    del garbage
    assert gc.collect() >= 1  # what dies after a freeze is still collected
