#!/usr/bin/python3
"""Adding an op touches its family file, ops/ops.hpp and one gradcheck row; this check reminds you of
the rest. Every differentiable op declared in ops/ops.hpp must be called in
tests/test_gradcheck.cpp's op_table (float64 central differences); every op that is not
differentiable (NOT_DIFFERENTIABLE) must be called in the test that checks it returns a constant;
every op must be named in docs/api-guide.md and have a forward case compared with numpy in
tests/op_forward_cases.cpp. Run by CTest as `op_coverage`."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
header = open(os.path.join(ROOT, "ops", "ops.hpp")).read()
ops = sorted(set(re.findall(r"^(?:inline )?(?:Tensor|std::vector<Tensor>) (\w+)\(", header, re.M)))
ops = [op for op in ops if not op.startswith("operator")]
table_source = open(os.path.join(ROOT, "tests", "test_gradcheck.cpp")).read()
table = table_source[table_source.index("op_table()"):table_source.index("BOOST_AUTO_TEST_SUITE(gradcheck)")]
constants_start = table_source.index("non_differentiable_ops_are_constants")
constants = table_source[constants_start:table_source.index("BOOST_AUTO_TEST_CASE", constants_start)]
forward_path = os.path.join(ROOT, "tests", "op_forward_cases.cpp")
forward = open(forward_path).read() if os.path.exists(forward_path) else ""
# Their results carry no gradient (indices, masks, signs); a gradcheck row would check nothing.
NOT_DIFFERENTIABLE = {"argmax", "argmin", "equal", "less", "greater", "sign", "one_hot"}
guide = open(os.path.join(ROOT, "docs", "api-guide.md")).read()
# The arithmetic ops are written as operators (ops.hpp defines them inline): a row using the
# operator checks the op.
OPERATORS = {"add": r"x\[\d\] \+ ", "sub": r"x\[\d\] - ", "mul": r"x\[\d\] \* ", "div": r"x\[\d\] / ",
             "neg": r"return -x\[0\]"}
problems = []
for op in ops:
    if op in NOT_DIFFERENTIABLE:
        if not re.search(r"\b%s\(" % op, constants):
            problems.append(f"{op}: not checked in tests/test_gradcheck.cpp's non_differentiable_ops_are_constants")
    elif not re.search(r"\b%s\(" % op, table) and not (op in OPERATORS and re.search(OPERATORS[op], table)):
        problems.append(f"{op}: no row in tests/test_gradcheck.cpp's op_table")
    # A call, or a function pointer taken (`= dropout;`) that a table of cases calls.
    if not re.search(r"\b%s\b\s*[(;}]" % op, forward) and not (op in OPERATORS and re.search(OPERATORS[op], forward)):
        problems.append(f"{op}: no forward case against numpy in tests/op_forward_cases.cpp")
    if op in OPERATORS:
        continue  # the guide lists them as `+ - * /` and `neg`
    if not re.search(r"`[^`]*\b%s\b[^`]*`" % op, guide):
        problems.append(f"{op}: not named in docs/api-guide.md")
for p in problems:
    print(p)
print(f"op_coverage: {len(ops)} ops, {len(problems)} gaps")
sys.exit(1 if problems else 0)
