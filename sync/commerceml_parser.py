"""The CommerceML reader (``mappings.commerceml.read``) run in a process of its own.

An import job's parsing and its database writes both need the interpreter: in one process they
take turns, in two they run side by side (``bench/commerceml.py`` measures it). The job starts
``python -m sync.commerceml_parser``, feeds the XML to its standard input and reads the records
back from its standard output as a stream of pickled messages:

- ``("records", [record, ...])`` — a batch, in document order;
- ``("end",)`` — the file is read;
- ``("syntax", message, line, column)`` — the XML is malformed there;
- ``("refused", code, text)`` — the reader refused the file (``ConnectorError``);
- ``("error", text)`` — anything else went wrong (the traceback's text).

The pipe carries only what this module writes, so unpickling it is safe. The process imports the
reader and nothing else (it starts in a few tens of milliseconds), and ends by itself when the
job goes away: its input ends and its output breaks.
"""

from __future__ import annotations

import gc
import pickle
import sys
import traceback
from typing import IO, Any

from lxml import etree

from mappings import commerceml as cml
from processing.errors import ConnectorError

BATCH = 512  # records per message


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)


def serve(source: IO[bytes], out: IO[bytes]) -> None:
    """Read ``source`` and write its records to ``out`` as the messages above."""
    batch: list[cml.Record] = []
    try:
        for record in cml.read(source):
            batch.append(record)
            if len(batch) == BATCH:
                _send(out, ("records", batch))
                batch = []
        _send(out, ("records", batch))
        _send(out, ("end",))
    except etree.XMLSyntaxError as error:
        line, column = error.position
        _send(out, ("syntax", str(error.msg or error), line, column))
    except ConnectorError as error:  # the reader refused the file (a DOCTYPE)
        _send(out, ("refused", error.code, error.text))
    except Exception:  # handed to the job, which logs it and fails or retries the run
        _send(out, ("error", traceback.format_exc()))
    out.flush()


def main() -> None:
    # Millions of short-lived objects and no cycles: the collector's passes would only cost.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:  # the job is gone: nobody to tell
        sys.exit(1)


if __name__ == "__main__":
    main()
