"""RQ worker: jobs in worker/jobs/, run with `python -m worker`."""
