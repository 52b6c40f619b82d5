"""The `ecgwb` command line, the benchmarks and the browser helpers.

They orchestrate the library (`ecgcore`) and the trainer (`trainer`), so they sit above
both: nothing in `ecgcore` or `trainer` imports this package.
"""
