// Diffusion benchmark driver: text-to-image with a Stable Diffusion 1.x
// pipeline folder through the C ABI only, as any host would call it, timed
// the way bench/diffusion/peer_diffusers.py times diffusers' pipeline
// (bench/diffusion/run.sh runs both).
//
//   bench_diffusion MODEL_DIR SIZE STEPS_A STEPS_B THREADS REPEATS [FORMAT]
//
// FORMAT: the UNet's and VAE's precision, float32 (default), bfloat16 or
// float16, with "+cl" for channels-last convolutions (e.g. bfloat16+cl).
//
// One SIZE x SIZE image per call, batch 1, Euler ancestral, guidance 7.5
// (so every step runs the UNet on the prompt and the empty negative prompt).
// Measures, medians over REPEATS:
//  (i)   encode_s: one gml_diffusion_encode_prompt (tokenizer + CLIP text
//        encoder + weighting);
//  (ii)  step_s: seconds per guided denoising step, from whole
//        gml_diffusion_txt2img calls: (t(STEPS_B) - t(STEPS_A)) /
//        (STEPS_B - STEPS_A). The difference cancels everything a call does
//        once (two prompt encodes, VAE decode, set-up);
//  (iii) decode_s: what a call does besides its steps and its two prompt
//        encodes, t(STEPS_A) - STEPS_A step_s - 2 encode_s: the VAE decode
//        and the per-call overhead.
//  (iv)  tail_s: from the report of the last step to the call's return: the
//        VAE decode and the copy into the caller's buffer, measured
//        directly (null when steps are shorter than the progress interval,
//        0.25 s, so that the last step's report may be skipped).
// Prints one JSON line, with load_s (gml_model_load of the folder) and the
// process's peak resident set.
#include <galaxyml/galaxyml.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* const kPrompt = "a barred spiral galaxy with tight arms, face-on";

void check(gml_status s, const char* what) {
  if (s != GML_OK) {
    std::fprintf(stderr, "bench_diffusion: %s: %s: %s\n", what, gml_status_name(s),
                 gml_last_error());
    std::exit(1);
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The last progress report of a call: the final one always arrives (at
// done == total), so it tells how many denoising steps the call ran. The
// first report at done == total comes after the last step (or, when that
// one was skipped by the report interval, after the decode).
struct LastProgress {
  int64_t done = 0, total = 0;
  std::chrono::steady_clock::time_point steps_end{};
  bool steps_ended = false;
};

int32_t on_progress(const gml_progress* p, void* user) {
  auto* last = static_cast<LastProgress*>(user);
  last->done = p->done;
  last->total = p->total;
  if (p->done == p->total && !last->steps_ended) {
    last->steps_end = std::chrono::steady_clock::now();
    last->steps_ended = true;
  }
  return 0;
}

struct Bench {
  gml_context* ctx;
  gml_model* model;
  gml_diffusion_options opts;
  std::vector<float> images;
  LastProgress progress;
  double tail_s = 0;  // of the last call

  // Seconds of one whole txt2img call of `steps` steps.
  double txt2img(int64_t steps) {
    opts.steps = steps;
    progress = LastProgress{};
    const auto t0 = std::chrono::steady_clock::now();
    check(gml_diffusion_txt2img(ctx, model, &kPrompt, 1, &opts, images.data(), images.size()),
          "gml_diffusion_txt2img");
    const double t = seconds_since(t0);
    tail_s = seconds_since(progress.steps_end);
    // A sampler that ran other than the steps asked would skew step_s.
    if (progress.done != steps || progress.total != steps) {
      std::fprintf(stderr, "bench_diffusion: asked %lld steps, progress says %lld of %lld\n",
                   static_cast<long long>(steps), static_cast<long long>(progress.done),
                   static_cast<long long>(progress.total));
      std::exit(1);
    }
    return t;
  }

  double encode(std::vector<float>& embedding) {
    const auto t0 = std::chrono::steady_clock::now();
    check(gml_diffusion_encode_prompt(ctx, model, kPrompt, 0, embedding.data(), embedding.size(),
                                      nullptr, nullptr),
          "gml_diffusion_encode_prompt");
    return seconds_since(t0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: %s MODEL_DIR SIZE STEPS_A STEPS_B THREADS REPEATS [FORMAT]\n",
                 argv[0]);
    return 2;
  }
  std::string format = argc == 8 ? argv[7] : "float32";
  const bool channels_last = format.size() > 3 && format.compare(format.size() - 3, 3, "+cl") == 0;
  const std::string precision = channels_last ? format.substr(0, format.size() - 3) : format;
  const char* model_dir = argv[1];
  const int64_t size = std::atoll(argv[2]);
  const int64_t steps_a = std::atoll(argv[3]), steps_b = std::atoll(argv[4]);
  const int threads = std::atoi(argv[5]);
  const int repeats = std::atoi(argv[6]);
  if (size <= 0 || steps_a < 1 || steps_b <= steps_a || threads < 1 || repeats < 1) {
    std::fprintf(stderr,
                 "bench_diffusion: need SIZE > 0, 1 <= STEPS_A < STEPS_B, THREADS >= 1,"
                 " REPEATS >= 1\n");
    return 2;
  }

  // The thread count is fixed by the first initialisation, so set it before
  // any context exists.
  gml_init_options io;
  gml_init_options_default(&io);
  io.num_threads = threads;
  check(gml_init(&io), "gml_init");
  gml_context_options co;
  gml_context_options_default(&co);
  co.device = "cpu";  // the engine runs on the CPU, as the peer
  Bench b{};
  check(gml_context_create(&co, &b.ctx), "gml_context_create");
  check(gml_context_set_progress(b.ctx, on_progress, &b.progress), "gml_context_set_progress");

  const auto t_load = std::chrono::steady_clock::now();
  check(gml_model_load(b.ctx, model_dir, "diffusion", &b.model), "gml_model_load");
  const double load_s = seconds_since(t_load);

  gml_diffusion_options_default(&b.opts);
  b.opts.height = b.opts.width = size;
  b.opts.scheduler = "euler_a";
  b.opts.guidance = 7.5;
  b.opts.n_per_prompt = 1;
  b.opts.batch_size = 1;
  b.opts.seed = 1;  // the same noise in every call: the calls differ only in steps
  b.opts.precision = precision.c_str();
  b.opts.channels_last = channels_last ? 1 : 0;
  int64_t shape[4];
  check(gml_diffusion_image_shape(b.model, &b.opts, 1, shape), "gml_diffusion_image_shape");
  b.images.resize(static_cast<size_t>(shape[0] * shape[1] * shape[2] * shape[3]));
  int64_t n_tokens = 0, width = 0;
  check(gml_diffusion_encode_prompt(b.ctx, b.model, kPrompt, 0, nullptr, 0, &n_tokens, &width),
        "gml_diffusion_encode_prompt (sizes)");
  std::vector<float> embedding(static_cast<size_t>(n_tokens * width));

  // Warm-up, untimed: first-touch allocations and oneDNN's primitive caches
  // for this image size. The peer warms up the same way.
  b.encode(embedding);
  b.txt2img(steps_a);

  std::vector<double> encode_s, t_a, t_b, step_s, tail_s;
  for (int r = 0; r < repeats; ++r) encode_s.push_back(b.encode(embedding));
  for (int r = 0; r < repeats; ++r) {
    // A and B back to back, so a change of machine load hits both alike.
    t_a.push_back(b.txt2img(steps_a));
    tail_s.push_back(b.tail_s);
    t_b.push_back(b.txt2img(steps_b));
    tail_s.push_back(b.tail_s);
    step_s.push_back((t_b.back() - t_a.back()) / static_cast<double>(steps_b - steps_a));
  }
  const double step = median(step_s), enc = median(encode_s), ta = median(t_a);
  const double decode = ta - static_cast<double>(steps_a) * step - 2.0 * enc;
  // The last step's report is certain only when a step outlasts the interval.
  char tail[32] = "null";
  if (step > 0.3) std::snprintf(tail, sizeof tail, "%.4f", median(tail_s));

  // Pixels in [0, 1] as documented; their mean is printed so that a broken
  // run (all zeros, NaN) shows in the log.
  double mean = 0.0;
  for (float v : b.images) mean += v;
  mean /= static_cast<double>(b.images.size());

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);  // ru_maxrss in KiB on Linux
  std::printf(
      "{\"engine\": \"galaxyml\", \"format\": \"%s\", \"size\": %lld, \"threads\": %d, "
      "\"repeats\": %d,"
      " \"steps_a\": %lld, \"steps_b\": %lld, \"t_a_s\": %.4f, \"t_b_s\": %.4f,"
      " \"step_s\": %.5f, \"encode_s\": %.5f, \"decode_s\": %.4f, \"tail_s\": %s,"
      " \"load_s\": %.3f,"
      " \"image_mean\": %.4f, \"peak_rss_mb\": %.1f}\n",
      format.c_str(), static_cast<long long>(size), gml_num_threads(), repeats,
      static_cast<long long>(steps_a), static_cast<long long>(steps_b), ta, median(t_b), step, enc,
      decode, tail, load_s, mean, static_cast<double>(ru.ru_maxrss) / 1024.0);
  gml_model_free(b.model);
  gml_context_free(b.ctx);
  return 0;
}
