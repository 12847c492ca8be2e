"""Strawberry types, inputs, enums and errors; `schema.build.schema` is the one Schema object."""
