#!/usr/bin/python3
"""Adding an op touches its family file, ops/ops.hpp and one gradcheck row; this check reminds you of
the rest. Every op declared in ops/ops.hpp must be called in tests/test_gradcheck.cpp's op_table
(float64 central differences) and named in docs/api-guide.md. Run by CTest as `op_coverage`."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
header = open(os.path.join(ROOT, "ops", "ops.hpp")).read()
ops = sorted(set(re.findall(r"^Tensor (\w+)\(", header, re.M)))
table_source = open(os.path.join(ROOT, "tests", "test_gradcheck.cpp")).read()
table = table_source[table_source.index("op_table()"):]
guide = open(os.path.join(ROOT, "docs", "api-guide.md")).read()
# The arithmetic ops are written as operators (ops.hpp defines them inline): a row using the
# operator checks the op.
OPERATORS = {"add": r"x\[\d\] \+ ", "sub": r"x\[\d\] - ", "mul": r"x\[\d\] \* ", "div": r"x\[\d\] / ",
             "neg": r"return -x\[0\]"}
problems = []
for op in ops:
    if not re.search(r"\b%s\(" % op, table) and not (op in OPERATORS and re.search(OPERATORS[op], table)):
        problems.append(f"{op}: no row in tests/test_gradcheck.cpp's op_table")
    if op in OPERATORS:
        continue  # the guide lists them as `+ - * /` and `neg`
    if not re.search(r"`[^`]*\b%s\b[^`]*`" % op, guide):
        problems.append(f"{op}: not named in docs/api-guide.md")
for p in problems:
    print(p)
print(f"op_coverage: {len(ops)} ops, {len(problems)} gaps")
sys.exit(1 if problems else 0)
