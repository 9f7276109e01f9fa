"""The semantic checks of a normalised spec: one module per family, each `ensure_*` function pure,
returning diagnostics and never raising. `flowc.compiler.validate` runs them all."""
