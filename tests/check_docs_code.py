#!/usr/bin/python3
"""Code shown in the docs is code that is compiled: each pair below names a doc and a source whose
region between `[NAME]` and `[NAME: end]`-style markers (see PAIRS) must be the doc's code block,
character for character (after removing the region's common indentation). Run by CTest as
`docs_code`."""
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (doc, the heading its code block follows, source, start marker, end marker)
PAIRS = [
    ("docs/adding-an-op.md", None, "tests/downstream/custom_op.cpp", "// [adding-an-op: op]", "// [adding-an-op: end]"),
    ("docs/tutorial.md", "## 8. Beyond the course", "examples/spiral_classifier.cpp", "// [tutorial: classifier]",
     "// [tutorial: end]"),
    ("docs/distributed.md", "## The API", "tests/downstream/ddp_model.cpp", "// [distributed: training]",
     "// [distributed: end]"),
]
failures = 0
for doc_path, heading, source_path, start, end in PAIRS:
    source = open(os.path.join(ROOT, source_path)).read()
    match = re.search(re.escape(start) + r"\n(.*?)^[ \t]*" + re.escape(end) + r"\n", source, re.S | re.M)
    region = textwrap.dedent(match.group(1))
    doc = open(os.path.join(ROOT, doc_path)).read()
    if heading:
        doc = doc[doc.index(heading):]
    block = re.search(r"```cpp\n(.*?)```", doc, re.S).group(1)
    if block != region:
        print(f"{doc_path}'s code differs from {source_path}'s marked region")
        failures += 1
    else:
        print(f"{doc_path} shows {source_path}'s code")
sys.exit(1 if failures else 0)
