"""Kafka sources and consumer groups at compile time (SPEC §3 `group_id`; docs/kafka.md): several
sources without a `group_id` get one each; two that name one group are E320. No broker is needed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli


def spec(folder: Path, orders_group: str = "", refunds_group: str = "",
         refunds_servers: str = "127.0.0.1:9092") -> Path:
    path = folder / "k.flow.yaml"
    path.write_text(
        "version: 1\npipeline: shop\nsources:\n"
        "  orders:\n    type: kafka\n    topic: orders\n    bootstrap_servers: 127.0.0.1:9092\n"
        f"    schema: {{id: int}}{orders_group}\n"
        f"  refunds:\n    type: kafka\n    topic: refunds\n    bootstrap_servers: {refunds_servers}\n"
        f"    schema: {{id: int}}{refunds_group}\n"
        "steps:\n  - union: [orders, refunds]\nsinks:\n  out: {type: file, path: out/all.jsonl}\n")
    return path




def validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    return result.exit_code, result.output


def test_two_sources_naming_one_group_are_an_error_at_the_second_group_id(tmp_path):
    code, out = validate(spec(tmp_path, "\n    group_id: shop", "\n    group_id: shop"))
    assert code == 1
    assert ("k.flow.yaml:15:15: error[E320]: source 'refunds' names Kafka group_id 'shop', as source 'orders' "
            "(line 9) does; give each Kafka source its own group_id") in out


def test_one_group_id_on_two_clusters_is_two_groups(tmp_path):
    code, out = validate(spec(tmp_path, "\n    group_id: shop", "\n    group_id: shop", "127.0.0.1:9093"))
    assert code == 0, out


def test_sources_without_group_id_each_get_their_own(tmp_path):
    from flowc.compiler.normalize import normalize_spec
    from flowc.dsl.loader import load_document

    document, _ = load_document(str(spec(tmp_path)))
    normalized, _ = normalize_spec(document)
    assert {x.name: x.config["group_id"] for x in normalized.sources} == {
        "orders": "flowc-shop-orders", "refunds": "flowc-shop-refunds"}
    assert validate(tmp_path / "k.flow.yaml")[0] == 0


def test_a_pipelines_only_kafka_source_keeps_the_default_group(tmp_path):
    from flowc.compiler.normalize import normalize_spec
    from flowc.dsl.loader import load_document

    path = spec(tmp_path, refunds_group="\n    group_id: refunds-reader")
    document, _ = load_document(str(path))
    normalized, _ = normalize_spec(document)
    assert "group_id" not in normalized.sources[0].config  # the feed's own default: flowc-shop
    assert normalized.sources[1].config["group_id"] == "refunds-reader"
