"""The demo data loaded by `flask --app portal seed-demo` and `make run`."""
