"""The project's benchmark: `make bench` (= `python -m bench`).

Three measurements, side by side in one run:

* `bench.imports`: cold import time of every handler module in a fresh interpreter, against `import boto3`,
  beside the floor every handler shares (a Table resource and a client, Powertools, pydantic).
* `bench.intake`: POST /complaints through the real IntakeApiFunction handler in-process against the
  embedded stack's moto endpoint, against the bare AWS calls that request has to make.
* `bench.triage`: the TriageFunction and SpikeWatchFunction handlers in-process on RECEIVED cases (time
  and AWS calls per complaint), and the items their reads touch in a table of 1,000 vs 20,000 complaints.

The table goes to stdout, the figures to bench/out/latest.json."""
