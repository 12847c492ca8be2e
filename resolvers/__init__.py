"""Query and mutation logic, DataLoaders and permission checks, behind the Strawberry schema."""
