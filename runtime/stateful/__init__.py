"""Stateful operators (SPEC §4 aggregate, dedupe, enrich): state kept across micro-batches.

Every engine implements `StatefulOperator` (`flowc.runtime.stateful.base`). The executor owns the
loop: it feeds each batch of an operator's input through `process`, calls `end_of_input` when a
bounded input is exhausted, and saves `snapshot()` with every checkpoint (restored on resume).
"""
