"""Benchmarks that print ratios against a baseline measured in the same run.

`hospes bench` seeds a throw-away tenant with a realistic guest graph, serves the API with a real
`hospes serve` subprocess and compares two GraphQL operations (guest detail, guest list page) with
the floor: the same data fetched by one hand-written SQL statement per operation through psycopg.

- `seed`        the throw-away tenant and its data (COPY into the tenant schema)
- `floor`       the hand-written SQL
- `measure`     the load generator and its statistics
- `profiling`   cProfile of one operation, summarised by layer
- `guest_graph` the orchestration and the printed table
"""
