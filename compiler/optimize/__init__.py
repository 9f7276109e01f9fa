"""Rewrite rules over the operator graph (one module per rule) and the fixed-point driver."""
