# The merger family (DeepGalaxy): merger stage, latent search, clustering.

"""
    merger_dims(model) -> (in_channels, image_size, n_classes, latent_dim)

`latent_dim` is 0 for a model without VAE.
"""
function merger_dims(m::Model)
    c = Ref{Int64}(0)
    s = Ref{Int64}(0)
    k = Ref{Int64}(0)
    l = Ref{Int64}(0)
    check(L.gml_merger_dims(m, c, s, k, l))
    return (in_channels = c[], image_size = s[], n_classes = k[], latent_dim = l[])
end

# Images as the model takes them: W × H × channels × n, channels the model's,
# W and H the model's unless the library resizes.
function _merger_images(m::Model, images, resize::Bool)
    dims = merger_dims(m)
    a = _images(images, "images")
    size(a, 3) == dims.in_channels || throw(DimensionMismatch(
        "images have $(size(a, 3)) channels (third dimension) but the model takes " *
        "$(dims.in_channels); images are width × height × channels × n, the C layout " *
        "[n, channels, height, width] reversed"))
    resize || (size(a, 1) == dims.image_size && size(a, 2) == dims.image_size) ||
        throw(DimensionMismatch(
            "images are $(size(a, 1)) × $(size(a, 2)) pixels but the model takes " *
            "$(dims.image_size) × $(dims.image_size); pass resize=true to resample them"))
    size(a, 4) >= 1 || throw(ArgumentError("no images given"))
    return a, dims
end

"""
    merger_classify(model, images; resize=false, context=model.context)

Merger stage of each image. `images` is a `width × height × channels × n`
Float32 array (the C array [n, channels, height, width]; one image may be
`width × height × channels`). Returns a NamedTuple: `probs` (`n_classes × n`),
`classes` (most probable, 0-based), `time_myr`, `latent` (`latent_dim × n`, or
`nothing` for a model without VAE) and `flags` (`GML_MERGER_FLAG_*` bits).
"""
function merger_classify(m::Model, images; resize::Bool = false, context::Context = m.context)
    a, dims = _merger_images(m, images, resize)
    n = size(a, 4)
    probs = Matrix{Float32}(undef, dims.n_classes, n)
    classes = Vector{Int32}(undef, n)
    time_myr = Vector{Float32}(undef, n)
    latent = dims.latent_dim > 0 ? Matrix{Float32}(undef, dims.latent_dim, n) : nothing
    flags = Vector{Int32}(undef, n)
    latent_arg = latent === nothing ? convert(Ptr{Cfloat}, C_NULL) : latent
    _before_call(context)
    status = L.gml_merger_classify(context, m, a, Int64(n), Int64(size(a, 3)), Int64(size(a, 2)),
                                   Int64(size(a, 1)), Int32(resize), probs, classes, time_myr,
                                   latent_arg, flags)
    _check_call(context, status)
    return (probs = probs, classes = classes, time_myr = time_myr, latent = latent,
            flags = flags)
end

"""
    merger_encode(model, images; resize=false, context=model.context) -> (latent, flags)

The search latent (`latent_dim × n`) of each image only; the model must have
a VAE.
"""
function merger_encode(m::Model, images; resize::Bool = false, context::Context = m.context)
    a, dims = _merger_images(m, images, resize)
    dims.latent_dim > 0 || throw(ArgumentError("$(repr(m.path)) has no VAE: it has no latent"))
    n = size(a, 4)
    latent = Matrix{Float32}(undef, dims.latent_dim, n)
    flags = Vector{Int32}(undef, n)
    _before_call(context)
    status = L.gml_merger_encode(context, m, a, Int64(n), Int64(size(a, 3)), Int64(size(a, 2)),
                                 Int64(size(a, 1)), Int32(resize), latent, flags)
    _check_call(context, status)
    return (latent = latent, flags = flags)
end

"""
    merger_simulate(context, out_path; kw...) -> n_images

Runs the restricted N-body merger simulator and writes its images and labels.
Keywords are the `gml_merger_simulate_options` fields (`mass_ratios` a vector,
`sims_per_ratio`, `n_time_classes`, `n_cameras`, `image_size`,
`particles_per_disk`, `fov_kpc`, `psf_fwhm_pix`, `noise_sigma`, `t_end_myr`,
`dt_myr`, `profile`, `seed`, `n_threads`).
"""
function merger_simulate(c::Context, out_path::AbstractString; kw...)
    fields = Dict{Symbol,Any}(kw)
    ratios = get(fields, :mass_ratios, nothing)
    ratios === nothing || (fields[:n_mass_ratios] = Int32(length(ratios)))
    keep = Any[]
    opts = _options(L.gml_merger_simulate_options, L.gml_merger_simulate_options_default, keep;
                    fields...)
    n = Ref{Int64}(0)
    _before_call(c)
    status = GC.@preserve keep L.gml_merger_simulate(c, Ref(opts), _cstring(out_path), n)
    _check_call(c, status)
    return n[]
end

"""
    merger_train(context, data_path, model_path; kw...) -> NamedTuple

Trains a merger model on a simulator file and writes it; returns the run's
figures (`gml_merger_train_report` fields). Keywords are the
`gml_merger_train_options` fields (`backbone`, `latent_dim`, `lr`,
`batch_size`, `max_epochs`, `validation_cameras` a vector, `seed`, ...).
"""
function merger_train(c::Context, data_path::AbstractString, model_path::AbstractString; kw...)
    fields = Dict{Symbol,Any}(kw)
    cameras = get(fields, :validation_cameras, nothing)
    cameras === nothing || (fields[:n_validation_cameras] = Int32(length(cameras)))
    keep = Any[]
    opts = _options(L.gml_merger_train_options, L.gml_merger_train_options_default, keep;
                    fields...)
    report = Ref(_sized(L.gml_merger_train_report))
    _before_call(c)
    status = GC.@preserve keep L.gml_merger_train(c, _cstring(data_path), Ref(opts),
                                                  _cstring(model_path), report)
    _check_call(c, status)
    return _namedtuple(report[])
end

"""
    merger_index_build(model, images_path, index_path; resize=false,
                       context=model.context) -> n_indexed

Encodes every image of a simulator file or cutout cube into a latent index.
"""
function merger_index_build(m::Model, images_path::AbstractString, index_path::AbstractString;
                            resize::Bool = false, context::Context = m.context)
    n = Ref{Int64}(0)
    _before_call(context)
    status = L.gml_merger_index_build(context, m, _cstring(images_path), Int32(resize),
                                      _cstring(index_path), n)
    _check_call(context, status)
    return n[]
end

"""
    merger_index_info(index_path) -> (n_entries, latent_dim)
"""
function merger_index_info(index_path::AbstractString)
    n = Ref{Int64}(0)
    d = Ref{Int64}(0)
    check(L.gml_merger_index_info(_cstring(index_path), n, d))
    return (n[], d[])
end

"""
    merger_search(model, index_path, images; k, resize=false, context=model.context)
    merger_search(model, index_path; latents, k, context=model.context)

The `k` nearest index entries of each query, by image (as `merger_classify`)
or by latent (`latent_dim × n`, e.g. `merger_classify(...).latent`). Returns a
NamedTuple of `k × n` matrices `rows`, `ids`, `distances`, `ssim` (image
queries only, else `nothing`), `sim_id`, `time_class`, and `flags` (`n`).
"""
function merger_search(m::Model, index_path::AbstractString, images = nothing;
                       latents = nothing, k::Integer, resize::Bool = false,
                       context::Context = m.context)
    (images === nothing) == (latents === nothing) &&
        throw(ArgumentError("give either images or latents"))
    path = _cstring(index_path)
    dims = merger_dims(m)
    if images !== nothing
        q, _ = _merger_images(m, images, resize)
        n = size(q, 4)
        lat = convert(Ptr{Cfloat}, C_NULL)
    else
        dims.latent_dim > 0 || throw(ArgumentError("$(repr(m.path)) has no VAE: it has no latent"))
        lat = _columns(Float32, latents, dims.latent_dim, "latents", "latent values")
        n = size(lat, 2)
        q = nothing
    end
    rows = Matrix{Int64}(undef, k, n)
    ids = Matrix{Int64}(undef, k, n)
    distances = Matrix{Float32}(undef, k, n)
    ssim = q === nothing ? nothing : Matrix{Float32}(undef, k, n)
    sim_id = Matrix{Int32}(undef, k, n)
    time_class = Matrix{Int32}(undef, k, n)
    flags = Vector{Int32}(undef, n)
    _before_call(context)
    status = GC.@preserve path q lat rows ids distances ssim sim_id time_class flags begin
        request = L.gml_merger_search_request(
            UInt32(sizeof(L.gml_merger_search_request)), _pointer(path),
            q === nothing ? convert(Ptr{Cfloat}, C_NULL) : pointer(q), Int64(n),
            Int64(q === nothing ? 0 : size(q, 3)), Int64(q === nothing ? 0 : size(q, 2)),
            Int64(q === nothing ? 0 : size(q, 1)), Int32(resize),
            lat isa Array ? pointer(lat) : lat, Int64(q === nothing ? dims.latent_dim : 0),
            Int64(k))
        result = L.gml_merger_search_result(
            UInt32(sizeof(L.gml_merger_search_result)),
            pointer(rows), Csize_t(length(rows)), pointer(ids), Csize_t(length(ids)),
            pointer(distances), Csize_t(length(distances)),
            ssim === nothing ? convert(Ptr{Cfloat}, C_NULL) : pointer(ssim),
            Csize_t(ssim === nothing ? 0 : length(ssim)),
            pointer(sim_id), Csize_t(length(sim_id)), pointer(time_class),
            Csize_t(length(time_class)), pointer(flags), Csize_t(length(flags)))
        L.gml_merger_search_batch(context, m, Ref(request), Ref(result))
    end
    _check_call(context, status)
    return (rows = rows, ids = ids, distances = distances, ssim = ssim, sim_id = sim_id,
            time_class = time_class, flags = flags)
end

"""
    merger_cluster(context, index_path, n_clusters; n_neighbours=10) -> (labels, eigenvalues)

Spectral clustering of an index's latents: the 0-based cluster of each entry
and the `n_clusters` smallest Laplacian eigenvalues.
"""
function merger_cluster(c::Context, index_path::AbstractString, n_clusters::Integer;
                        n_neighbours::Integer = 10)
    n_entries, _ = merger_index_info(index_path)
    labels = Vector{Int64}(undef, n_entries)
    eigenvalues = Vector{Float64}(undef, n_clusters)
    _before_call(c)
    status = L.gml_merger_cluster(c, _cstring(index_path), Int64(n_clusters), Int64(n_neighbours),
                                  labels, Csize_t(length(labels)), eigenvalues)
    _check_call(c, status)
    return labels, eigenvalues
end
