"""stable-diffusion.cpp peer of bench/diffusion: its command-line tool `sd-cli`,
built from its public source outside this repository (build_sdcpp.sh), on
the same diffusers folder as galaxyml and diffusers (sd-cli reads that layout
itself), with weights kept as float32 or converted to float16 at load.

    peer_sdcpp.py SD_CLI MODEL_DIR SIZE STEPS THREADS TYPE

One SIZE x SIZE image, Euler ancestral, guidance 7.5, in one call of STEPS
steps. sd-cli prints the seconds of every step after the first and of each
stage; from them:
  step_s    median of the per-step seconds after the first (STEPS - 1 of
            them; the first step also builds the compute graph);
  encode_s  get_learned_condition: the prompt and the empty negative prompt,
            two text-encoder passes (galaxyml's and diffusers' encode_s are
            one pass, so this is about twice theirs);
  decode_s  decode_first_stage: the VAE decode alone;
  load_s    wall seconds from the start of the process to the model's last
            tensor loaded.
Prints one JSON line with the keys of the galaxyml driver, or, when sd-cli
fails (e.g. on a UNet shape it does not implement), a JSON line with
"error" holding the end of its log.
"""
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT = "a barred spiral galaxy with tight arms, face-on"  # as bench_diffusion.cpp


def sdcpp_folder(model_dir):
    """The folder as sd-cli reads it. transformers 5 saves a CLIPTextModel's
    keys without the "text_model." prefix that SD-1.x checkpoints (and
    transformers 4) carry, and sd-cli recognises an SD-1.x text encoder only
    by the prefixed name. Returns model_dir itself when the keys have the
    prefix, else a sibling folder with the same files (links) and the text
    encoder rewritten with prefixed keys: the same tensors, bit for bit."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    te = os.path.join(model_dir, "text_encoder", "model.safetensors")
    with safe_open(te, "pt") as f:
        keys = list(f.keys())
        if all(k.startswith("text_model.") for k in keys):
            return model_dir
        out = model_dir.rstrip("/") + ".sdcpp"
        done = os.path.join(out, ".complete")
        if os.path.exists(done) and os.path.getmtime(done) >= os.path.getmtime(te):
            return out
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(os.path.join(out, "text_encoder"))
        for name in os.listdir(model_dir):
            if name != "text_encoder":
                os.symlink(os.path.abspath(os.path.join(model_dir, name)), os.path.join(out, name))
        shutil.copy(os.path.join(model_dir, "text_encoder", "config.json"),
                    os.path.join(out, "text_encoder", "config.json"))
        tensors = {("" if k.startswith("text_model.") else "text_model.") + k: f.get_tensor(k)
                   for k in keys}
    save_file(tensors, os.path.join(out, "text_encoder", "model.safetensors"))
    open(done, "w").close()
    return out


def main():
    if len(sys.argv) != 7:
        sys.exit(f"usage: {sys.argv[0]} SD_CLI MODEL_DIR SIZE STEPS THREADS TYPE")
    cli, model_dir = sys.argv[1], sys.argv[2]
    size, steps, threads = map(int, sys.argv[3:6])
    wtype = sys.argv[6]
    if steps < 4:
        sys.exit("peer_sdcpp: need STEPS >= 4 (three timed steps after the first)")
    model_dir = sdcpp_folder(model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [cli, "-m", model_dir, "-p", PROMPT, "-W", str(size), "-H", str(size),
               "--steps", str(steps), "--cfg-scale", "7.5", "--sampling-method", "euler_a",
               "-s", "1", "-t", str(threads), "--type", wtype, "-o", f"{tmp}/out.png"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", bufsize=1)
        log, load_s = [], None
        # sd-cli rewrites its progress line with carriage returns; each
        # rewrite is one step's record.
        for line in proc.stdout:
            for piece in line.split("\r"):
                log.append(piece)
                if load_s is None and "loading tensors completed" in piece:
                    load_s = time.perf_counter() - t0
        rc = proc.wait()
    text = "\n".join(log)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0

    def stage(name):
        m = re.search(name + r" completed, taking ([0-9.]+)s", text)
        return float(m.group(1)) if m else None

    # "|====| 3/4 - 9.53s/it" or "... - 1.20it/s"; step 1 reports no time.
    per_step = {}
    for m in re.finditer(r"\|\s+(\d+)/(\d+) - ([0-9.]+)(s/it|it/s)", text):
        k, n, v, unit = int(m.group(1)), int(m.group(2)), float(m.group(3)), m.group(4)
        if n == steps and k >= 2 and v > 0:
            per_step[k] = v if unit == "s/it" else 1.0 / v
    encode_s, decode_s = stage("get_learned_condition"), stage("decode_first_stage")
    if rc != 0 or len(per_step) < 3 or encode_s is None or decode_s is None:
        tail = [s.strip() for s in log if s.strip()][-6:]
        print(json.dumps({"engine": f"stable-diffusion.cpp {wtype}", "size": size,
                          "error": f"sd-cli exited {rc}: " + " | ".join(tail)}))
        return
    print(json.dumps({
        "engine": f"stable-diffusion.cpp {wtype}",
        "size": size,
        "threads": threads,
        "step_s": statistics.median(per_step.values()),
        "steps_timed": len(per_step),
        "encode_s": encode_s,
        "decode_s": decode_s,
        "load_s": load_s if load_s is not None else float("nan"),
        "peak_rss_mb": peak_mb,
    }))


if __name__ == "__main__":
    main()
