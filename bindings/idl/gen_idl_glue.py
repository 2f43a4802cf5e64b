#!/usr/bin/env python3
"""Writes (or checks) bindings/idl/gml_idl_glue_generated.c, the CALL_EXTERNAL
entry points of the IDL binding, from bindings/abi/galaxyml_abi.json.

IDL's (and GDL's) CALL_EXTERNAL calls `int entry(int argc, void* argv[])`
with argv[i] the address of the i-th IDL argument's data. For every C function
gml_NAME this writes an entry gml_idl_NAME whose arguments follow the C
parameters in order, mapped as:

  handle (gml_context*, ...)      ULONG64 scalar holding the address
  handle out (gml_context**)      ULONG64 variable, set on success
  int32_t / int64_t / uint64_t    LONG / LONG64 / ULONG64 scalar
  size_t / size_t*                ULONG64 scalar / variable
  double / float / char           DOUBLE / FLOAT / BYTE scalar
  const char*                     STRING scalar (IDL_STRING descriptor)
  const char* const*              STRING array, as long as the count
                                  parameter that follows it
  char* (text out)                BYTE array
  numeric pointer                 array of the exact C type
  const gml_*_options*            three arguments: STRING array of field
                                  names, STRING array of values, LONG64 count;
                                  the struct starts from *_options_default()
  gml_*_request* / gml_*_result*  one argument per field after struct_size
                                  (zero-initialised struct, struct_size set)
  other struct out (results,      BYTE array and ULONG64 capacity: the
  *_options_default())            fields as "name:t=value" lines, t one of
                                  i (integer), u (unsigned), d (double),
                                  s (string)

A const char* result becomes three trailing arguments (BYTE array, ULONG64
capacity, ULONG64 length: the library's strings-out convention) and an
int32_t result one trailing LONG variable. Every entry takes one more last
argument, a LONG64 bit mask: bit i set passes NULL for argument i (a pointer).
Entries return the gml_status of the call, or GML_ERR_INVALID_ARGUMENT with
a message of their own (gml_idl_error_text) when the arguments are wrong.

Functions that take host callbacks or untyped pointers are left to the
hand-written glue (gml_idl_glue.c) or to UNWRAPPED.md.

    bindings/idl/gen_idl_glue.py [--check]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "abi"))
import generated_file  # noqa: E402  (bindings/abi: the shared --check)

OUT = os.path.join(HERE, "gml_idl_glue_generated.c")

SCALARS = {
    "int32_t": "int32_t",
    "gml_status": "int32_t",
    "uint32_t": "uint32_t",
    "int64_t": "int64_t",
    "uint64_t": "uint64_t",
    "size_t": "uint64_t",
    "double": "double",
    "float": "float",
    "char": "char",
}
NUMERIC_POINTEES = {"double", "float", "int32_t", "int64_t", "uint8_t", "size_t"}
# Option fields read from text, by C type: the parser of gml_idl_glue.c.
FIELD_PARSERS = {
    "int32_t": "gml_idl_parse_i32",
    "uint32_t": "gml_idl_parse_u32",
    "int64_t": "gml_idl_parse_i64",
    "uint64_t": "gml_idl_parse_u64",
    "double": "gml_idl_parse_f64",
    "float": "gml_idl_parse_f32",
}
LIST_PARSERS = {"const double*": "gml_idl_parse_f64_list", "const int32_t*": "gml_idl_parse_i32_list"}


class Skip(Exception):
    pass


def strip_const(t):
    return t[len("const "):] if t.startswith("const ") else t


def struct_kind(name):
    if name.endswith("_request") or name.endswith("_result"):
        return "flat"
    if name.endswith("_options"):
        return "options"
    return "record"


class Generator:
    def __init__(self, abi):
        self.abi = abi
        self.handles = {h["name"] for h in abi["handles"]}
        self.structs = {s["name"]: s for s in abi["structs"]}
        self.callbacks = {c["name"] for c in abi["callbacks"]}
        self.options_used = set()
        self.records_used = set()

    # One IDL argument: (description for the comment, C expression code).
    def map_param(self, fn, params, i, out):
        p = params[i]
        name, ctype = p["name"], p["type"]
        base = strip_const(ctype)
        if base.endswith("**") and base[:-2] in self.handles:
            out.append(("handle_out", name, base[:-2]))
            return
        if base.endswith("*") and base[:-1] in self.handles:
            out.append(("handle", name, base[:-1]))
            return
        if ctype in SCALARS:
            out.append(("scalar", name, SCALARS[ctype]))
            return
        if ctype == "const char*":
            out.append(("string", name, None))
            return
        if ctype == "const char*const*":
            count = params[i + 1]
            if not count["name"].startswith("n_") or count["type"] not in SCALARS:
                raise Skip(f"{fn}: no count after {name}")
            out.append(("strings", name, count["name"]))
            return
        if ctype == "char*":
            out.append(("chars", name, None))
            return
        if base.endswith("*") and base[:-1] in NUMERIC_POINTEES:
            out.append(("array", name, ctype))
            return
        if base.endswith("*") and base[:-1] in self.structs:
            sname = base[:-1]
            kind = struct_kind(sname)
            if kind == "options" and ctype.startswith("const "):
                self.options_used.add(sname)
                out.append(("options", name, sname))
            elif kind == "flat":
                out.append(("flat", name, sname))
            else:
                self.records_used.add(sname)
                out.append(("record", name, sname))
            return
        raise Skip(f"{fn}: parameter {name} of type {ctype}")

    def idl_args(self, fn):
        """The IDL arguments of fn's entry, in order: (kind, name, extra)."""
        args = []
        params = fn["params"]
        for i in range(len(params)):
            self.map_param(fn["name"], params, i, args)
        return args

    def n_idl(self, args):
        n = 0
        for kind, _, extra in args:
            if kind == "options":
                n += 3
            elif kind == "record":
                n += 2
            elif kind == "flat":
                n += len(self.structs[extra]["fields"]) - 1
            else:
                n += 1
        return n

    def emit_function(self, fn, w):
        args = self.idl_args(fn)
        ret = fn["returns"]
        if ret not in ("gml_status", "void", "const char*", "int32_t"):
            raise Skip(f"{fn['name']}: returns {ret}")
        n = self.n_idl(args) + {"const char*": 3, "int32_t": 1}.get(ret, 0)
        entry = "gml_idl_" + fn["name"][len("gml_"):]
        # Every argument is read first; conversions that can fail (string
        # arrays, options) follow, so that no jump crosses a declaration.
        decl, actions, call, post = [], [], [], []
        k = 0  # IDL argument index
        scratch = False
        for kind, name, extra in args:
            if kind == "handle":
                decl.append(f"  {extra}* {name} = ({extra}*)gml_idl_handle(argv[{k}], idl_mask, {k});")
                call.append(name)
                k += 1
            elif kind == "handle_out":
                decl.append(f"  {extra}* {name} = NULL;")
                call.append(f"&{name}")
                post.append(f"  if (idl_rc == GML_OK) *(uint64_t*)argv[{k}] = (uint64_t)(uintptr_t){name};")
                k += 1
            elif kind == "scalar":
                ptype = next(p["type"] for p in fn["params"] if p["name"] == name)
                decl.append(f"  const {extra} {name} = *(const {extra}*)argv[{k}];")
                call.append(name if ptype != "size_t" else f"(size_t){name}")
                k += 1
            elif kind == "string":
                decl.append(f"  const char* {name} = gml_idl_string_arg(argv[{k}], idl_mask, {k});")
                call.append(name)
                k += 1
            elif kind == "strings":
                scratch = True
                decl.append(f"  const char* const* {name} = NULL;")
                call.append(name)
                actions += [
                    f"  if ({extra} < 0 || {extra} > GML_IDL_MAX_STRINGS) {{",
                    f"    idl_rc = gml_idl_fail(GML_ERR_INVALID_ARGUMENT, \"{fn['name']}: {extra} = %lld is "
                    f"out of range\",",
                    f"                          (long long){extra});",
                    "    goto done;",
                    "  }",
                    f"  {name} = gml_idl_strings_arg(argv[{k}], idl_mask, {k}, (int64_t){extra}, &idl_scratch);",
                    f"  if (!{name} && !(idl_mask & (INT64_C(1) << {k}))) {{",
                    "    idl_rc = gml_idl_fail(GML_ERR_OUT_OF_MEMORY, \"out of memory\");",
                    "    goto done;",
                    "  }",
                ]
                k += 1
            elif kind == "chars":
                decl.append(f"  char* {name} = (char*)gml_idl_pointer(argv[{k}], idl_mask, {k});")
                call.append(name)
                k += 1
            elif kind == "array":
                decl.append(f"  {extra} {name} = ({extra})gml_idl_pointer(argv[{k}], idl_mask, {k});")
                call.append(name)
                k += 1
            elif kind == "options":
                scratch = True
                decl.append(f"  {extra} {name};")
                actions.append(f"  idl_rc = gml_idl_fill_{extra}(&{name}, argv[{k}], argv[{k + 1}], "
                               f"*(const int64_t*)argv[{k + 2}],")
                actions.append("                                &idl_scratch);")
                actions.append("  if (idl_rc != GML_OK) goto done;")
                call.append(f"&{name}")
                k += 3
            elif kind == "record":
                decl.append(f"  {extra} {name};")
                decl.append(f"  memset(&{name}, 0, sizeof {name});")
                decl.append(f"  {name}.struct_size = (uint32_t)sizeof {name};")
                post.append(f"  if (idl_rc == GML_OK && !(idl_mask & (INT64_C(1) << {k})))")
                post.append(f"    idl_rc = gml_idl_text_{extra}(&{name}, (char*)argv[{k}], "
                            f"*(const uint64_t*)argv[{k + 1}]);")
                call.append(f"&{name}")
                k += 2
            elif kind == "flat":
                decl.append(f"  {extra} {name};")
                decl.append(f"  memset(&{name}, 0, sizeof {name});")
                decl.append(f"  {name}.struct_size = (uint32_t)sizeof {name};")
                for f in self.structs[extra]["fields"][1:]:
                    ft = f["type"]
                    target = f"  {name}.{f['name']} = "
                    if ft in SCALARS:
                        decl.append(f"{target}({ft}) * (const {SCALARS[ft]}*)argv[{k}];")
                    elif ft == "const char*":
                        decl.append(f"{target}gml_idl_string_arg(argv[{k}], idl_mask, {k});")
                    elif strip_const(ft).endswith("*") and strip_const(ft)[:-1] in NUMERIC_POINTEES:
                        decl.append(f"{target}({ft})gml_idl_pointer(argv[{k}], idl_mask, {k});")
                    else:
                        raise Skip(f"{fn['name']}: field {f['name']} of {extra}")
                    k += 1
                call.append(f"&{name}")
        if ret == "const char*":
            post.append(f"  idl_rc = gml_idl_string_out(idl_result, (char*)gml_idl_pointer(argv[{k}], idl_mask, {k}),")
            post.append(f"                              *(const uint64_t*)argv[{k + 1}], (uint64_t*)argv[{k + 2}]);")
            k += 3
        elif ret == "int32_t":
            post.append(f"  *(int32_t*)argv[{k}] = idl_result;")
            k += 1
        assert k == n, (fn["name"], k, n)

        w.append(f"/* {fn['name']}: {n} arguments, then the NULL mask. */")
        w.append(f"int {entry}(int argc, void* argv[]) {{")
        w.append(f"  if (!gml_idl_begin(argc, argv, {n + 1}, \"{fn['name']}\")) return GML_ERR_INVALID_ARGUMENT;")
        w.append(f"  const int64_t idl_mask = *(const int64_t*)argv[{n}];")
        w.append("  (void)idl_mask;")
        w.append("  gml_status idl_rc = GML_OK;")
        if scratch:
            w.append("  gml_idl_scratch idl_scratch = {0};")
        w.extend(decl)
        w.extend(actions)
        cargs = ", ".join(call)
        if ret == "gml_status":
            w.append(f"  idl_rc = {fn['name']}({cargs});")
        elif ret == "void":
            w.append(f"  {fn['name']}({cargs});")
        elif ret == "int32_t":
            w.append(f"  const int32_t idl_result = {fn['name']}({cargs});")
        else:
            w.append(f"  const char* idl_result = {fn['name']}({cargs});")
        w.extend(post)
        if scratch:
            w.append("done:")
            w.append("  gml_idl_scratch_free(&idl_scratch);")
        w.append("  return idl_rc;")
        w.append("}")
        w.append("")

    def emit_options(self, sname, w):
        s = self.structs[sname]
        fields = s["fields"][1:]
        names = {f["name"] for f in fields}
        w.append(f"static gml_status gml_idl_set_{sname}({sname}* o, const char* key, const char* value,")
        w.append("                                    gml_idl_scratch* scratch) {")
        w.append("  (void)scratch;")
        for f in fields:
            fname, ftype = f["name"], f["type"]
            if ftype in FIELD_PARSERS:
                if fname.startswith("n_") and fname[2:] in names:
                    continue  # a list's count, set with the list
                w.append(f"  if (gml_idl_key_is(key, \"{fname}\")) return {FIELD_PARSERS[ftype]}(key, value, &o->{fname});")
            elif ftype == "const char*":
                w.append(f"  if (gml_idl_key_is(key, \"{fname}\")) {{")
                w.append(f"    o->{fname} = value;")
                w.append("    return GML_OK;")
                w.append("  }")
            elif ftype in LIST_PARSERS and "n_" + fname in names:
                w.append(f"  if (gml_idl_key_is(key, \"{fname}\"))")
                w.append(f"    return {LIST_PARSERS[ftype]}(key, value, &o->{fname}, &o->n_{fname}, scratch);")
            # Callbacks and user pointers cannot be set from IDL text.
        w.append(f"  return gml_idl_fail(GML_ERR_INVALID_ARGUMENT, \"unknown option '%s' of {sname}\", key);")
        w.append("}")
        w.append("")
        w.append(f"static gml_status gml_idl_fill_{sname}({sname}* o, const void* keys, const void* values,")
        w.append("                                     int64_t n, gml_idl_scratch* scratch) {")
        w.append(f"  {sname}_default(o);")
        w.append("  if (n < 0 || n > GML_IDL_MAX_STRINGS)")
        w.append(f"    return gml_idl_fail(GML_ERR_INVALID_ARGUMENT, \"{sname}: %lld options\", (long long)n);")
        w.append("  for (int64_t i = 0; i < n; ++i) {")
        w.append("    const gml_status status = gml_idl_set_" + sname + "(o, gml_idl_string_at(keys, i), "
                 "gml_idl_string_at(values, i), scratch);")
        w.append("    if (status != GML_OK) return status;")
        w.append("  }")
        w.append("  return GML_OK;")
        w.append("}")
        w.append("")

    def emit_record(self, sname, w):
        s = self.structs[sname]
        w.append(f"static gml_status gml_idl_text_{sname}(const {sname}* r, char* buf, uint64_t capacity) {{")
        w.append("  gml_idl_text t;")
        w.append("  gml_idl_text_begin(&t, buf, capacity);")
        for f in s["fields"][1:]:
            fname, ftype = f["name"], f["type"]
            if ftype.startswith("char["):
                w.append(f"  gml_idl_text_chars(&t, \"{fname}\", r->{fname}, sizeof r->{fname});")
            elif ftype in ("int32_t", "int64_t"):
                w.append(f"  gml_idl_text_int(&t, \"{fname}\", (int64_t)r->{fname});")
            elif ftype in ("uint32_t", "uint64_t"):
                w.append(f"  gml_idl_text_uint(&t, \"{fname}\", (uint64_t)r->{fname});")
            elif ftype in ("double", "float"):
                w.append(f"  gml_idl_text_real(&t, \"{fname}\", (double)r->{fname});")
            elif ftype == "const char*":
                w.append(f"  gml_idl_text_chars(&t, \"{fname}\", r->{fname}, (size_t)-1);")
            # Pointers and callbacks have no text form.
        w.append("  return gml_idl_text_end(&t);")
        w.append("}")
        w.append("")

    def generate(self):
        funcs, skipped = [], []
        for fn in self.abi["functions"]:
            w = []
            try:
                self.emit_function(fn, w)
                funcs.append((fn["name"], w))
            except Skip as e:
                skipped.append(str(e))
        out = [
            "/* Generated by bindings/idl/gen_idl_glue.py from bindings/abi/galaxyml_abi.json.",
            " * Do not edit: run the generator. The argument conventions are in its docstring.",
            " *",
            " * Left to gml_idl_glue.c or UNWRAPPED.md:",
        ]
        out += [f" *   {s}" for s in skipped]
        out += [" */", "#include <stdint.h>", "#include <string.h>", "", "#include \"galaxyml/galaxyml.h\"",
                "#include \"gml_idl_glue.h\"", ""]
        for s in sorted(self.options_used):
            self.emit_options(s, out)
        for s in sorted(self.records_used):
            self.emit_record(s, out)
        for _, w in funcs:
            out.extend(w)
        return "\n".join(out).rstrip() + "\n"



if __name__ == "__main__":
    sys.exit(generated_file.main(OUT, lambda abi: Generator(abi).generate(),
                                    __doc__.strip().splitlines()[0], __file__))
