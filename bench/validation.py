"""Cost of validating a charger's message against the OCPP 1.6 schema, three ways, in one run.

    .venv/bin/python bench/validation.py [--messages 20000]

  library hop   what the `ocpp` library does by default: validate_payload() hands the check to the
                event loop's thread pool (run_in_executor) and the handler awaits it
  inline        jsonschema's cached Draft4Validator called on the event loop, no thread hop (what our
                node did before issue 14 finished)
  compiled      the same schema compiled to Python by fastjsonschema: what ocpp_server.v16.schema_error
                does now for valid messages (jsonschema still names the error of an invalid one)

For a MeterValues, a Heartbeat and a StatusNotification frame (typical payloads) it prints microseconds
of CPU (process time, all threads) and wall time per message, for N messages awaited one after another
by a few hundred concurrent tasks, as a node under load would. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocpp.messages import Call, MessageType, get_validator, validate_payload  # noqa: E402


FRAMES = {
    "MeterValues": {"connectorId": 1, "transactionId": 42, "meterValue": [{
        "timestamp": "2026-12-01T12:00:00Z", "sampledValue": [
            {"value": "123456", "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"},
            {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"},
            {"value": "32.1", "measurand": "Current.Import", "unit": "A", "phase": "L1"}]}]},
    "Heartbeat": {},
    "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                           "timestamp": "2026-12-01T12:00:00Z"},
}


def compiled_validators() -> dict:
    try:
        import fastjsonschema
    except ImportError:
        return {}
    out = {}
    for action in FRAMES:
        schema = get_validator(MessageType.Call, action, "1.6").schema
        schema = {k: v for k, v in schema.items() if k != "$schema"}  # draft-04 is the default
        out[action] = fastjsonschema.compile(schema)
    return out


async def run(kind: str, action: str, n: int, compiled: dict, concurrency: int = 200) -> tuple[float, float]:
    payload = FRAMES[action]
    text = json.dumps([2, "1", action, payload])
    per_task = n // concurrency

    async def one() -> None:
        for i in range(per_task):
            data = json.loads(text)  # every way parses the frame once
            if kind == "library hop":
                await validate_payload(Call(data[1], data[2], data[3]), "1.6")
            elif kind == "inline":
                validator = get_validator(MessageType.Call, action, "1.6")
                if next(iter(validator.iter_errors(data[3])), None) is not None:
                    raise SystemExit("frame unexpectedly invalid")
                await asyncio.sleep(0)  # the handler yields once either way
            else:
                compiled[action](data[3])
                await asyncio.sleep(0)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    done = per_task * concurrency
    return (time.process_time() - cpu0) / done * 1e6, (time.perf_counter() - wall0) / done * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=20000)
    args = p.parse_args()
    compiled = compiled_validators()
    kinds = ["library hop", "inline"] + (["compiled"] if compiled else [])
    print(f"{args.messages} messages per cell, 200 concurrent tasks; microseconds per message (CPU / wall)")
    print(f"{'':<20}" + "".join(f"{k:>22}" for k in kinds))
    for action in FRAMES:
        cells = []
        for kind in kinds:
            asyncio.run(run(kind, action, 2000, compiled))  # warm-up: schemas loaded, threads started
            cpu, wall = asyncio.run(run(kind, action, args.messages, compiled))
            cells.append(f"{cpu:7.1f} / {wall:7.1f}")
        print(f"{action:<20}" + "".join(f"{c:>22}" for c in cells))
    if not compiled:
        print("(compiled: fastjsonschema is missing; pip install -r requirements.txt)")


if __name__ == "__main__":
    main()
