"""The project's benchmark: `make bench` (= `python -m bench`).

Two measurements, side by side in one run:

* `bench.imports`: cold import time of each handler module in a fresh interpreter, against `import boto3`.
* `bench.intake`: POST /complaints through the real IntakeApiFunction handler in-process against the
  embedded stack's moto endpoint, against the bare AWS calls that request has to make.

The table goes to stdout, the figures to bench/out/latest.json."""
