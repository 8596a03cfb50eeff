#!/usr/bin/python3
"""docs/adding-an-op.md shows the shipped out-of-tree op: its code block must be the region of
tests/downstream/custom_op.cpp between the `[adding-an-op: op]` and `[adding-an-op: end]` markers,
character for character. Run by CTest as `docs_code`."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
source = open(os.path.join(ROOT, "tests", "downstream", "custom_op.cpp")).read()
region = re.search(r"// \[adding-an-op: op\]\n(.*?)// \[adding-an-op: end\]\n", source, re.S).group(1)
doc = open(os.path.join(ROOT, "docs", "adding-an-op.md")).read()
block = re.search(r"```cpp\n(.*?)```", doc, re.S).group(1)
if block != region:
    print("docs/adding-an-op.md's code differs from tests/downstream/custom_op.cpp's marked region")
    sys.exit(1)
print("docs/adding-an-op.md shows custom_op.cpp's code")
