#!/usr/bin/python3
"""Regenerates the option list of include/simdmf/simdmf.h (between "BEGIN OPTIONS" and "END OPTIONS")
from the option registry (lib/options.cpp), through the built tool: `simdmf options --c-header`.

    /usr/bin/python3 scripts/update_option_docs.py [build/tools/simdmf]

tests/test_options.cpp fails when the block in the header differs from what the registry renders.
"""
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tool = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "tools", "simdmf")
header = os.path.join(root, "include", "simdmf", "simdmf.h")
block = subprocess.run([tool, "options", "--c-header"], check=True, capture_output=True, text=True).stdout
with open(header) as f:
    text = f.read()
begin, end = " * BEGIN OPTIONS\n", " * END OPTIONS\n"
a, b = text.index(begin) + len(begin), text.index(end)
new = text[:a] + block + text[b:]
if new != text:
    with open(header, "w") as f:
        f.write(new)
    print("updated", header)
else:
    print(header, "is up to date")
