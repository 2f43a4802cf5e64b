#!/usr/bin/env python3
"""Writes (or checks) bindings/fortran/galaxyml_c.f90, the module galaxyml_c:
the C ABI as Fortran 2008 declarations, generated from
bindings/abi/galaxyml_abi.json.

    bindings/fortran/gen_fortran.py [--check]

It holds
  - the enumerators as named integer(c_int32_t) constants, and GML_ABI_VERSION;
  - one bind(C) derived type per struct, fields in header order with
    iso_c_binding kinds (char[N] as character(kind=c_char) :: name(N),
    pointers as type(c_ptr), callbacks as type(c_funptr));
  - one abstract interface per callback type, so that a Fortran procedure
    written for it is checked against the C signature;
  - one bind(C, name="...") interface per function.

Function arguments: scalars the header passes by value are `value` dummies
of the matching kind; handles, arrays, strings and structs are
type(c_ptr), value. A pointer stays a pointer because the C functions give
NULL a meaning in many places ("defaults", "not wanted", "query the size"),
which neither an assumed-size array nor a by-reference dummy can express.
The one exception is a handle out-argument (gml_context** and the like),
a type(c_ptr) passed by reference, which is what T** is. Fortran has no
unsigned integers: uint32_t and uint64_t map to the signed kinds of the same
width, which have the same bits.

--check compares the committed file with what the ABI description says and
fails, naming the first differing line, when it is stale.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "abi"))
import generated_file  # noqa: E402  (bindings/abi: the shared --check)
OUT = os.path.join(HERE, "galaxyml_c.f90")

SCALARS = {
    "int32_t": "integer(c_int32_t)",
    "uint32_t": "integer(c_int32_t)",
    "gml_status": "integer(c_int32_t)",
    "int64_t": "integer(c_int64_t)",
    "uint64_t": "integer(c_int64_t)",
    "size_t": "integer(c_size_t)",
    "double": "real(c_double)",
    "float": "real(c_float)",
    "char": "character(kind=c_char)",
    "uint8_t": "integer(c_int8_t)",
}

MAX_LINE = 100  # well under free form's 132, so the file reads in a diff


def scalar_kind(ctype):
    if ctype not in SCALARS:
        raise SystemExit(f"gen_fortran: no Fortran kind for the C type '{ctype}'")
    return SCALARS[ctype]


def is_pointer(ctype):
    return ctype.endswith("*")


def field_decl(field, callbacks):
    name, ctype = field["name"], field["type"]
    m = re.fullmatch(r"char\[(\d+)\]", ctype)
    if m:
        return f"character(kind=c_char) :: {name}({m.group(1)})"
    if is_pointer(ctype):
        return f"type(c_ptr) :: {name}"
    if ctype in callbacks:
        return f"type(c_funptr) :: {name}"
    return f"{scalar_kind(ctype)} :: {name}"


def dummy_decl(name, ctype, callbacks, handles):
    """Declaration of one dummy argument of a bind(C) interface."""
    base = ctype.replace("const", "").replace(" ", "")
    if base.endswith("**") and base[:-2] in handles:
        return f"type(c_ptr), intent(out) :: {name}"
    if is_pointer(ctype):
        return f"type(c_ptr), value :: {name}"
    if ctype in callbacks:
        return f"type(c_funptr), value :: {name}"
    return f"{scalar_kind(ctype)}, value :: {name}"


def wrap(head, names, tail):
    """head(a, b, c) tail, continued with '&' where a line grows long."""
    lines, line = [], head + "("
    for i, n in enumerate(names):
        piece = n + (", " if i + 1 < len(names) else ")")
        if len(line) + len(piece.rstrip()) + 2 > MAX_LINE:
            lines.append(line.rstrip() + " &")
            line = " " * (len(head) - len(head.lstrip()) + 4) + piece
        else:
            line += piece
    if not names:
        line += ")"
    if len(line) + len(tail) + 3 > MAX_LINE:
        lines.append(line + " &")
        line = " " * (len(head) - len(head.lstrip()) + 4) + tail.lstrip()
    else:
        line += tail
    lines.append(line)
    return lines


def procedure(fn, callbacks, handles, indent, bind_name):
    """An interface body for a function or a callback."""
    params = fn["params"]
    names = [p["name"] for p in params]
    ret = fn["returns"]
    kind = "subroutine" if ret == "void" else "function"
    name = fn["name"]
    bind = f' bind(C, name="{bind_name}")' if bind_name else " bind(C)"
    result = " result(res)" if kind == "function" else ""
    pad = " " * indent
    out = wrap(f"{pad}{kind} {name}", names, bind + result)
    out.append(f"{pad}  import")
    for p in params:
        out.append(f"{pad}  {dummy_decl(p['name'], p['type'], callbacks, handles)}")
    if kind == "function":
        rtype = "type(c_ptr)" if is_pointer(ret) else scalar_kind(ret)
        out.append(f"{pad}  {rtype} :: res")
    out.append(f"{pad}end {kind} {name}")
    return out


def callback_params(cb):
    """Callbacks are described by type only; the names are the headers'."""
    known = {
        "gml_log_fn": ["level", "message", "user"],
        "gml_progress_fn": ["progress", "user"],
        "gml_catalog_chunk_fn": ["first_row", "n_rows", "n_outputs", "values", "flags", "user"],
        "gml_simulator_fn": ["theta", "n", "x_out", "user"],
    }
    names = known.get(cb["name"]) or [f"arg{i + 1}" for i in range(len(cb["params"]))]
    if len(names) != len(cb["params"]):
        names = [f"arg{i + 1}" for i in range(len(cb["params"]))]
    return [{"name": n, "type": t} for n, t in zip(names, cb["params"])]


def check_names(abi):
    """Fortran names ignore case: a constant, type, callback or function that
    differs from another only in case would not compile."""
    seen = {}
    for group in ("constants", "structs", "callbacks", "functions"):
        for item in abi[group]:
            key = item["name"].lower()
            if key in seen:
                raise SystemExit(f"gen_fortran: {item['name']} and {seen[key]} are one name in Fortran")
            seen[key] = item["name"]
    if "gml_header_abi_version" in seen:
        raise SystemExit("gen_fortran: GML_HEADER_ABI_VERSION is taken")


def generate(abi):
    check_names(abi)
    callbacks = {c["name"] for c in abi["callbacks"]}
    handles = {h["name"] for h in abi["handles"]}
    out = [
        "! galaxyml_c: the galaxyml C ABI as Fortran declarations.",
        "!",
        "! Generated by bindings/fortran/gen_fortran.py from",
        "! bindings/abi/galaxyml_abi.json; do not edit. ctest",
        "! bindings.generated.fortran checks that it is current.",
        "!",
        "! Every pointer argument is type(c_ptr), value (NULL = c_null_ptr), and",
        "! arrays are C-order: a C array [n, d] is a Fortran array (d, n). The",
        "! module galaxyml builds the Fortran interface on these declarations.",
        "module galaxyml_c",
        "  use, intrinsic :: iso_c_binding",
        "  implicit none",
        "",
        "  ! The header's GML_ABI_VERSION (Fortran names ignore case, so it cannot",
        "  ! share the name of gml_abi_version()); equals gml_abi_version() of a",
        "  ! matching libgalaxyml.so.N.",
        f"  integer(c_int32_t), parameter :: GML_HEADER_ABI_VERSION = {int(abi['abi_version'])}",
        "",
        "  ! Enumerators of the headers.",
    ]
    width = max(len(c["name"]) for c in abi["constants"])
    for c in abi["constants"]:
        out.append(f"  integer(c_int32_t), parameter :: {c['name'].ljust(width)} = {int(c['value'])}")

    for s in abi["structs"]:
        out += ["", f"  ! struct {s['name']} ({s['header']})", f"  type, bind(C) :: {s['name']}"]
        for f in s["fields"]:
            out.append(f"    {field_decl(f, callbacks)}")
        out.append(f"  end type {s['name']}")

    out += ["", "  ! Callback types: a Fortran procedure passed to the library has", "  ! one of these interfaces.",
            "  abstract interface"]
    for i, cb in enumerate(abi["callbacks"]):
        if i:
            out.append("")
        fn = {"name": cb["name"], "returns": cb["returns"], "params": callback_params(cb)}
        out += procedure(fn, callbacks, handles, 4, None)
    out.append("  end interface")

    header = None
    out += ["", "  interface"]
    for i, fn in enumerate(abi["functions"]):
        if fn["header"] != header:
            header = fn["header"]
            if i:
                out.append("")
            out.append(f"    ! {header}")
        else:
            out.append("")
        out += procedure(fn, callbacks, handles, 4, fn["name"])
    out += ["  end interface", "end module galaxyml_c", ""]
    return "\n".join(out)



if __name__ == "__main__":
    sys.exit(generated_file.main(OUT, generate, __doc__.strip().splitlines()[0], __file__))
