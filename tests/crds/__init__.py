"""Tests of the custom-resource models, the schema rewriter and the generated files."""
