# The diffusion family (GalaxySD): text-conditioned galaxy images.

# Prompts as the C array of strings, their Strings kept in `keep`.
function _prompts(prompts, keep)
    list = prompts isa AbstractString ? [prompts] : collect(prompts)
    isempty(list) && throw(ArgumentError("at least one prompt is needed"))
    strs = String[_cstring(p) for p in list]
    append!(keep, strs)
    return Ptr{Cchar}[_pointer(s) for s in strs]
end

_diffusion_options(keep; kw...) =
    _options(L.gml_diffusion_options, L.gml_diffusion_options_default, keep; kw...)

function _image_shape(m::Model, opts::L.gml_diffusion_options, n_prompts::Integer)
    shape = zeros(Int64, 4)
    check(L.gml_diffusion_image_shape(m, Ref(opts), Int64(n_prompts), shape))
    return shape
end

"""
    diffusion_image_shape(model, n_prompts=1; kw...) -> (width, height, channels, n)

Julia size of the images a call with these options makes (the C shape
[N, C, H, W] reversed).
"""
function diffusion_image_shape(m::Model, n_prompts::Integer = 1; kw...)
    keep = Any[]
    opts = _diffusion_options(keep; kw...)
    shape = GC.@preserve keep _image_shape(m, opts, n_prompts)
    return (shape[4], shape[3], shape[2], shape[1])
end

"""
    diffusion_txt2img(model, prompts; context=model.context, kw...) -> Array{Float32,4}

`n_per_prompt` images for each prompt (a string or a vector of strings), in
prompt order, as a `width × height × channels × N` array in [0, 1] (the C
array [N, C, H, W]). Keywords are the `gml_diffusion_options` fields:
`negative_prompt`, `n_per_prompt`, `height`, `width`, `steps`, `scheduler`,
`guidance`, `eta`, `seed`, `batch_size`, `restore_mean`, `precision`,
`channels_last`. Prompts may weight tags as `"{barred:1.2} spiral"`.
"""
function diffusion_txt2img(m::Model, prompts; context::Context = m.context, kw...)
    keep = Any[]
    ps = _prompts(prompts, keep)
    opts = _diffusion_options(keep; kw...)
    images = GC.@preserve keep begin
        shape = _image_shape(m, opts, length(ps))
        out = Array{Float32,4}(undef, shape[4], shape[3], shape[2], shape[1])
        _before_call(context)
        status = L.gml_diffusion_txt2img(context, m, ps, Int64(length(ps)), Ref(opts), out,
                                         Csize_t(length(out)))
        _check_call(context, status)
        out
    end
    return images
end

"""
    diffusion_img2img(model, prompts, reference; context=model.context, kw...)
        -> Array{Float32,4}

As `diffusion_txt2img`, each image starting from `reference` (`width ×
height × channels × n_reference` in [0, 1], n_reference 1 or one per image)
noised to `strength` (default 0.8). Height and width default to the
reference's.
"""
function diffusion_img2img(m::Model, prompts, reference; context::Context = m.context, kw...)
    keep = Any[]
    ps = _prompts(prompts, keep)
    ref = _images(reference, "reference")
    fields = Dict{Symbol,Any}(kw)
    get(fields, :width, 0) == 0 && (fields[:width] = size(ref, 1))
    get(fields, :height, 0) == 0 && (fields[:height] = size(ref, 2))
    opts = _diffusion_options(keep; fields...)
    images = GC.@preserve keep begin
        shape = _image_shape(m, opts, length(ps))
        out = Array{Float32,4}(undef, shape[4], shape[3], shape[2], shape[1])
        _before_call(context)
        status = L.gml_diffusion_img2img(context, m, ps, Int64(length(ps)), ref,
                                         Int64(size(ref, 4)), Int64(size(ref, 3)),
                                         Int64(size(ref, 2)), Int64(size(ref, 1)), Ref(opts),
                                         out, Csize_t(length(out)))
        _check_call(context, status)
        out
    end
    return images
end

"""
    diffusion_tokenize(model, prompt) -> (ids, weights)

The CLIP token ids the text encoder sees for a prompt (start, end and padding
included) and the tag weight of each.
"""
function diffusion_tokenize(m::Model, prompt::AbstractString)
    p = _cstring(prompt)
    len = Ref{Csize_t}(0)
    check(L.gml_diffusion_tokenize(m, p, convert(Ptr{Int64}, C_NULL),
                                   convert(Ptr{Cfloat}, C_NULL), Csize_t(0), len))
    ids = Vector{Int64}(undef, len[])
    weights = Vector{Float32}(undef, len[])
    check(L.gml_diffusion_tokenize(m, p, ids, weights, Csize_t(length(ids)), len))
    return ids, weights
end

"""
    diffusion_encode_prompt(model, prompt; restore_mean=false, context=model.context)
        -> Matrix{Float32}

The UNet's conditioning for a prompt: a `width × n_tokens` matrix (the C
array [n_tokens, width]).
"""
function diffusion_encode_prompt(m::Model, prompt::AbstractString; restore_mean::Bool = false,
                                 context::Context = m.context)
    p = _cstring(prompt)
    n_tokens = Ref{Int64}(0)
    width = Ref{Int64}(0)
    _before_call(context)
    status = L.gml_diffusion_encode_prompt(context, m, p, Int32(restore_mean),
                                           convert(Ptr{Cfloat}, C_NULL), Csize_t(0), n_tokens,
                                           width)
    _check_call(context, status)
    embedding = Matrix{Float32}(undef, width[], n_tokens[])
    _before_call(context)
    status = L.gml_diffusion_encode_prompt(context, m, p, Int32(restore_mean), embedding,
                                           Csize_t(length(embedding)), n_tokens, width)
    _check_call(context, status)
    return embedding
end

"""
    diffusion_convert(diffusers_dir, out_path)

Writes a diffusers pipeline folder as one galaxyml model file (float32
weights, tokenizer and configs inside, with a checksum).
"""
diffusion_convert(diffusers_dir::AbstractString, out_path::AbstractString) =
    (check(L.gml_diffusion_convert(_cstring(diffusers_dir), _cstring(out_path))); nothing)

"""
    diffusion_describe(model) -> String

JSON describing a loaded diffusion model: origin, parts, scheduler, native size.
"""
diffusion_describe(m::Model) = _string_out((b, n, len) -> L.gml_diffusion_describe(m, b, n, len))

"""
    procedural_galaxies(context, out_path, n_galaxies; tags=nothing, kw...)

Draws `n_galaxies` procedural galaxies (docs/synthesis.md) and writes them as
a galaxy image set: a FITS cube in nanomaggies (numpy shape (N, bands, size,
size)) and a `GALAXIES` table whose `CAPTION` column holds each galaxy's
morphology tags. `tags` (e.g. `"edge-on disk, dust lane"`) fixes what every
galaxy must have; `nothing` draws all from the mix. Keywords are the
`gml_diffusion_procedural_options` fields: `size`, `pixel_scale`, the band
arrays `band_wavelength`, `band_psf_fwhm`, `band_sky_sigma`,
`band_electrons` (vectors, with `band_names` a comma-separated string;
`n_bands` follows from them), `reference_wavelength`, `magnitude_min`,
`magnitude_max`, `oversample`, `moffat_beta`, `noise`, the `mix_*` weights,
the `p_*` probabilities, `seed`, `first`.
"""
function procedural_galaxies(c::Context, out_path::AbstractString, n_galaxies::Integer;
                             tags = nothing, kw...)
    fields = Dict{Symbol,Any}(kw)
    wavelength = get(fields, :band_wavelength, nothing)
    wavelength === nothing || haskey(fields, :n_bands) ||
        (fields[:n_bands] = Int32(length(wavelength)))
    keep = Any[]
    opts = _options(L.gml_diffusion_procedural_options,
                    L.gml_diffusion_procedural_options_default, keep; fields...)
    t = _cstr_arg(tags)
    _before_call(c)
    status = GC.@preserve keep t L.gml_diffusion_procedural_galaxies(c, t, Int64(n_galaxies),
                                                                     Ref(opts),
                                                                     _cstring(out_path))
    _check_call(c, status)
    return nothing
end
