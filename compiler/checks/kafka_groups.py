"""Two Kafka sources of one spec in one consumer group (E320).

One process cannot be two members of a group: kafka-python rejoins a group only inside `poll`, and the
runner polls its feeds in turn, so the second member's join waits for the first's, which nobody polls
meanwhile, until the broker's rebalance timeout (docs/kafka.md). Sources that name no `group_id` never
meet here: normalisation gives each its own when there are several. A group is named by its brokers
too: one `group_id` on two clusters is two groups.
"""

from __future__ import annotations

from flowc.compiler.graph import Graph
from flowc.compiler.spec import Source
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic


def ensure_one_source_per_kafka_group(graph: Graph) -> list[Diagnostic]:
    """E320 at the `group_id` of each Kafka source whose group an earlier source of the spec is in."""
    first: dict[tuple[str, str], Source] = {}
    found = []
    for source in graph.spec.sources:
        if source.type != "kafka" or "group_id" not in source.config:
            continue
        group = (str(source.config["group_id"]), str(source.config.get("bootstrap_servers")))
        if group not in first:
            first[group] = source
            continue
        other = first[group]
        other_span = other.key_spans.get("group_id", other.span)
        found.append(codes.diagnostic("E320", source.key_spans.get("group_id", source.span), name=source.name,
                                      group=group[0], other=other.name,
                                      other_line=other_span.line if other_span else "?"))
    return found
