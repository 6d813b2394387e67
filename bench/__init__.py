"""The project's benchmark: `make bench` (= `python -m bench`).

Six sections, each a module: cold imports (`imports`), POST /complaints in-process against its bare AWS
calls (`intake`), the triage handlers and what they read as the table grows (`triage`), the cost of each
path through the workflow (`paths`), the ops reads as the table grows (`ops`), a burst of complaints on
a full table (`burst`). They share one call meter (`meter`), the stack and table set-up (`fixtures`)
and, with tests/e2e, the driver in tests/support. One report (`report`) prints the table to stdout;
the figures go to bench/out/latest.json."""
