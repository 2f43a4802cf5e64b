"""
    GalaxyML

Julia interface to galaxyml: conditional normalizing flows of stars, amortized
SED posteriors, merger-stage classification and diffusion synthesis of galaxy
images, with the FITS catalog, cutout and WCS machinery around them.

# Library
`ENV["GALAXYML_LIBRARY"]`, when set at `using GalaxyML`, is the path of the
library to load (its SONAME must be `libgalaxyml.so.1`, as every build's is);
otherwise the dynamic loader finds `libgalaxyml.so.1` on its usual path. The
library is never unloaded (LibTorch does not survive `dlclose`).

# Arrays: Julia is column-major
The C interface takes C-order (row-major) arrays. A C array of shape
`[n, d]` has the bytes of a Julia `Matrix` of size `d × n`, and in general C
shape `(a, b, c)` is Julia size `(c, b, a)`. Every function here takes and
returns arrays in that Julia order, so no data is transposed or copied:

| C shape                           | Julia size                       |
|-----------------------------------|----------------------------------|
| conditions `[n_galaxies, cdim]`   | `cdim × n_galaxies`              |
| stars `[n, data_dim]`             | `data_dim × n`                   |
| x `[n_obs, x_dim]`                | `x_dim × n_obs`                  |
| theta `[n_obs, n_samples, tdim]`  | `tdim × n_samples × n_obs`       |
| images `[n, channels, H, W]`      | `W × H × channels × n`           |

Sizes are checked against the model's dimensions before any call: an array in
the C orientation raises a `DimensionMismatch` that says which order is
expected, an array of non-real numbers an `ArgumentError`.

# Errors
A failing library call throws a [`GalaxymlError`](@ref) with the status name
(e.g. `"GML_ERR_IO"`) and the library's message.

# Callbacks and threads
Progress sinks, catalog chunk functions, host simulators and the log sink are
Julia functions turned into C pointers with `@cfunction`. The library invokes
every callback only on the thread that made the call into it, never on one of
LibTorch's worker threads, so a Julia callback always runs on the Julia thread
(and task) that is waiting in that call. An exception thrown by a callback is
caught before it reaches C, stops the call, and is rethrown by the Julia
function that made the call. A context is used by one task at a time.
"""
module GalaxyML

# Base's own dlopen (what the Libdl standard library re-exports): no
# dependency to resolve.
const Libdl = Base.Libc.Libdl

include("LibGalaxyML.jl")
using .LibGalaxyML
const L = LibGalaxyML

export GalaxymlError, Context, Model, ModelInfo, Progress, WCS, Catalog, TableWriter
export version, build_info, abi_version, num_threads, init, status_name, last_error, clear_error
export device, context_rank, set_progress!, cancel, cancel_reset, selftest
export load_model, family, inspect_model, model_config
export wcs_open, wcs_from_header, pix2sky, sky2pix, pixel_scale, wcs_header
export catalog_open, nrows, columns_json, describe_mapping, catalog_read, catalog_stream
export add_column!, set_keyword!, append_rows!, commit!
export cutout_shape, cutouts, write_cutouts, read_cutouts
export flow_dims, flow_describe, flow_sample, flow_sample_to_file, flow_log_prob, flow_train,
       flow_read_galaxy, flow_evaluate, flow_simulate
export posterior_dims, posterior_describe, posterior_sample, posterior_sample_to_file,
       posterior_draw, posterior_draw_to_file, posterior_log_prob,
       posterior_summarize, posterior_simulate, posterior_simulate_sed,
       posterior_training_set_info, posterior_train, posterior_run_catalog, posterior_diagnose,
       posterior_training_set_write, posterior_import
export merger_dims, merger_classify, merger_encode, merger_simulate, merger_train,
       merger_index_build, merger_index_info, merger_search, merger_cluster
export diffusion_image_shape, diffusion_txt2img, diffusion_img2img, diffusion_tokenize,
       diffusion_encode_prompt, diffusion_convert, diffusion_describe, procedural_galaxies

include("support.jl")
include("context.jl")
include("models.jl")
include("wcs.jl")
include("catalog.jl")
include("cutouts.jl")
include("flow.jl")
include("posterior.jl")
include("merger.jl")
include("diffusion.jl")

# The handle of the loaded library; kept for the life of the process.
const _LIBRARY = Ref{Ptr{Cvoid}}(C_NULL)

function __init__()
    path = get(ENV, "GALAXYML_LIBRARY", L.libgalaxyml)
    _LIBRARY[] = Libdl.dlopen(path, Libdl.RTLD_NOW | Libdl.RTLD_LOCAL)
    abi = L.gml_abi_version()
    abi == L.GML_ABI_VERSION || error("GalaxyML: $(path) has ABI version $(abi); this package " *
                                      "was generated for ABI version $(L.GML_ABI_VERSION)")
    return nothing
end

end # module GalaxyML
