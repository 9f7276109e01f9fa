"""flowc: declarative .flow.yaml pipelines on Polars."""
