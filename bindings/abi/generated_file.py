"""The command line every binding generator shares: render a file from
galaxyml_abi.json and write it, or (--check) compare it with the committed
file and fail, showing where they differ, when it is stale."""
import argparse
import difflib
import json
import os
import sys

ABI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "galaxyml_abi.json")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(out_path, render, description, generator):
    """render(abi: dict) -> str is the generated file's text; generator is
    the script, named in messages as the command that regenerates."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed file instead of writing it")
    args = ap.parse_args()
    with open(ABI, encoding="utf-8") as f:
        text = render(json.load(f))
    out_rel = os.path.relpath(out_path, ROOT)
    gen_rel = os.path.relpath(os.path.abspath(generator), ROOT)
    if not args.check:
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{gen_rel}: wrote {out_rel} ({len(text.splitlines())} lines)")
        return 0
    try:
        with open(out_path, encoding="utf-8") as f:
            committed = f.read()
    except FileNotFoundError:
        print(f"{out_rel} is missing: run {gen_rel}", file=sys.stderr)
        return 1
    if committed != text:
        diff = difflib.unified_diff(committed.splitlines(), text.splitlines(),
                                    f"{out_rel} (committed)", f"{out_rel} (from the ABI)",
                                    lineterm="", n=1)
        sys.stderr.write("\n".join(list(diff)[:40]) + "\n")
        print(f"{out_rel} is stale: run {gen_rel}", file=sys.stderr)
        return 1
    print(f"{out_rel} matches bindings/abi/galaxyml_abi.json")
    return 0
