"""Readers and writers between files and `Document`s: plain text, JSONL, CSV/TSV, BRAT standoff and CoNLL.

One module per format (each reads and writes its own), plus `read`/`write` entry points that pick the format
per file and apply the bad-input policy: every problem raises an `InputError` naming file, line and offset, or
— with `skip_bad=True` — is counted in a `BadInputReport`. Nothing is dropped silently.
"""

from medadapt.io.brat import read_brat_document, write_brat
from medadapt.io.conll import read_conll, write_conll
from medadapt.io.inputs import detect_format, expand_inputs
from medadapt.io.read import iter_brat, read_documents
from medadapt.io.report import BadInput, BadInputReport
from medadapt.io.write import write_documents

__all__ = [
    "BadInput",
    "BadInputReport",
    "detect_format",
    "expand_inputs",
    "iter_brat",
    "read_brat_document",
    "read_conll",
    "read_documents",
    "write_brat",
    "write_conll",
    "write_documents",
]
