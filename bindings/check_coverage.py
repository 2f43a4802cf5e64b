#!/usr/bin/env python3
"""Checks that a binding covers the whole C ABI.

Every function of bindings/abi/galaxyml_abi.json (the headers' exports, as
clang reads them) must be called by the binding's wrapper sources, or be
listed in the binding's UNWRAPPED.md with a reason, one per line:

    - `gml_function_name`: why this binding does not wrap it

A listed function that the binding does wrap, or that the ABI does not
export, is an error too, so the list cannot go stale.

    bindings/check_coverage.py {python,fortran,idl,julia}
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# The sources that make up each binding's user-facing layer. Files generated
# from the ABI description (every prototype, called or not) are left out:
# a declaration is not a wrapper.
SOURCES = {
    "python": (["python/galaxyml/*.py"], ["python/galaxyml/_abi.py"]),
    "fortran": (["fortran/*.f90", "fortran/*.F90"], ["fortran/galaxyml_c.f90"]),
    "idl": (["idl/*.pro", "idl/*.c"], ["idl/gml_idl_glue_generated.c"]),
    "julia": (["julia/GalaxyML/src/*.jl"], ["julia/GalaxyML/src/LibGalaxyML.jl"]),
}


def main(host):
    with open(os.path.join(HERE, "abi", "galaxyml_abi.json")) as f:
        exported = {fn["name"] for fn in json.load(f)["functions"]}
    patterns, generated = SOURCES[host]
    files = sorted({p for pat in patterns for p in glob.glob(os.path.join(HERE, pat))}
                   - {os.path.join(HERE, g) for g in generated})
    if not files:
        print(f"coverage[{host}]: no wrapper sources under bindings/{host}", file=sys.stderr)
        return 1
    used = set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            used |= set(re.findall(r"\bgml_[a-z0-9_]+", f.read())) & exported

    listed = {}
    unwrapped_md = os.path.join(HERE, host, "UNWRAPPED.md")
    if os.path.exists(unwrapped_md):
        with open(unwrapped_md, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = re.match(r"\s*[-*]\s*`(gml_[a-z0-9_]+)`\s*[:—-]\s*(.*\S)?", line)
                if m:
                    if not m.group(2):
                        print(f"coverage[{host}]: UNWRAPPED.md:{n}: {m.group(1)} has no reason",
                              file=sys.stderr)
                        return 1
                    listed[m.group(1)] = n

    errors = []
    for name in sorted(exported - used - set(listed)):
        errors.append(f"{name} is exported but neither wrapped nor listed in UNWRAPPED.md")
    for name in sorted(set(listed) - exported):
        errors.append(f"UNWRAPPED.md:{listed[name]}: {name} is not an exported function")
    for name in sorted(set(listed) & used):
        errors.append(f"UNWRAPPED.md:{listed[name]}: {name} is wrapped; remove it from the list")
    for e in errors:
        print(f"coverage[{host}]: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"coverage[{host}]: {len(used)} of {len(exported)} functions wrapped, "
          f"{len(listed)} listed with a reason in UNWRAPPED.md")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SOURCES:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(SOURCES)}}}")
    sys.exit(main(sys.argv[1]))
