# The flow family (GalacticFlow): conditional normalizing flows of stars.

"""
    flow_dims(model) -> (data_dim, condition_dim)

Columns per star and conditions per galaxy of a flow model.
"""
function flow_dims(m::Model)
    d = Ref{Int64}(0)
    c = Ref{Int64}(0)
    check(L.gml_flow_dims(m, d, c))
    return (d[], c[])
end

"""
    flow_describe(model) -> String

JSON with the data and condition column names and the conditions' training
range.
"""
flow_describe(m::Model) = _string_out((b, n, len) -> L.gml_flow_describe(m, b, n, len))

"""
    flow_sample(model, conditions, n_per_galaxy; seed=0, context=model.context)
        -> (stars, outside)

Draws `n_per_galaxy` stars for each galaxy. `conditions` is a
`condition_dim × n_galaxies` matrix (the C array [n_galaxies, condition_dim]),
or a vector for one galaxy. `stars` is a `data_dim × (n_galaxies *
n_per_galaxy)` Float32 matrix, galaxy by galaxy; `outside[g]` says how far
galaxy g's conditions lie outside the training range (0 inside). `seed` 0
takes the context's; a given seed gives the same stars on every device.
"""
function flow_sample(m::Model, conditions, n_per_galaxy::Integer; seed::Integer = 0,
                     context::Context = m.context)
    data_dim, condition_dim = flow_dims(m)
    cond = _columns(Float64, conditions, condition_dim, "conditions", "conditions per galaxy")
    n_galaxies = size(cond, 2)
    n_per_galaxy >= 0 || throw(ArgumentError("n_per_galaxy must be >= 0; got $(n_per_galaxy)"))
    stars = Matrix{Float32}(undef, data_dim, n_galaxies * n_per_galaxy)
    outside = Vector{Float64}(undef, n_galaxies)
    _before_call(context)
    status = L.gml_flow_sample(context, m, cond, Int64(n_galaxies), Int64(n_per_galaxy),
                               UInt64(seed), stars, Csize_t(length(stars)), outside)
    _check_call(context, status)
    return (stars = stars, outside = outside)
end

"""
    flow_sample_to_file(model, conditions, n_per_galaxy, path; seed=0,
                        context=model.context)

As `flow_sample`, streamed to an HDF5 (.h5, .hdf5) or FITS (.fits) file for
samples larger than memory; written atomically.
"""
function flow_sample_to_file(m::Model, conditions, n_per_galaxy::Integer, path::AbstractString;
                             seed::Integer = 0, context::Context = m.context)
    _, condition_dim = flow_dims(m)
    cond = _columns(Float64, conditions, condition_dim, "conditions", "conditions per galaxy")
    _before_call(context)
    status = L.gml_flow_sample_to_file(context, m, cond, Int64(size(cond, 2)),
                                       Int64(n_per_galaxy), UInt64(seed), _cstring(path))
    _check_call(context, status)
    return nothing
end

"""
    flow_log_prob(model, stars, conditions; context=model.context) -> Vector{Float64}

log p(star | galaxy) of each column of `stars` (`data_dim × n`, the C array
[n, data_dim]), with `conditions` one galaxy for all stars (a vector, or a
`condition_dim × 1` matrix) or one column per star (`condition_dim × n`).
-Inf where a star lies outside the model's support.
"""
function flow_log_prob(m::Model, stars, conditions; context::Context = m.context)
    data_dim, condition_dim = flow_dims(m)
    s = _columns(Float32, stars, data_dim, "stars", "values per star")
    cond = _columns(Float64, conditions, condition_dim, "conditions", "conditions per galaxy")
    n = size(s, 2)
    n_conditions = size(cond, 2)
    (n_conditions == 1 || n_conditions == n) || throw(DimensionMismatch(
        "conditions has $(n_conditions) columns; give 1 (one galaxy for all stars) or one per " *
        "star ($(n))"))
    log_prob = Vector{Float64}(undef, n)
    _before_call(context)
    status = L.gml_flow_log_prob(context, m, s, Int64(n), cond, Int64(n_conditions), log_prob)
    _check_call(context, status)
    return log_prob
end

"""
    flow_train(context, stars_path, model_path; kw...)

Trains a flow on a star table and writes the model file. Keywords are the
`gml_flow_train_options` fields: `steps`, `batch_size`, `learning_rate`,
`validation_galaxies`, `eval_every`, `checkpoint_path`, `checkpoint_every`,
`resume`, `config_json`, `seed`, `max_stars_per_galaxy`.
"""
function flow_train(c::Context, stars_path::AbstractString, model_path::AbstractString; kw...)
    keep = Any[]
    opts = _options(L.gml_flow_train_options, L.gml_flow_train_options_default, keep; kw...)
    _before_call(c)
    status = GC.@preserve keep L.gml_flow_train(c, _cstring(stars_path), Ref(opts),
                                                _cstring(model_path))
    _check_call(c, status)
    return nothing
end

"""
    flow_read_galaxy(path, galaxy_id; condition_dim=4) -> (stars, conditions)

The stars (`data_dim × n_stars` Float32) and conditions of one galaxy of a
star table. `condition_dim` is the table's number of conditions per galaxy (4
for GalacticFlow tables and `flow_simulate`; `flow_dims(model)[2]` for the
table a model was trained on): too small a value throws GML_ERR_CAPACITY.
"""
function flow_read_galaxy(path::AbstractString, galaxy_id::Integer; condition_dim::Integer = 4)
    p = _cstring(path)
    n_stars = Ref{Int64}(0)
    data_dim = Ref{Int64}(0)
    check(L.gml_flow_read_galaxy(p, Int64(galaxy_id), convert(Ptr{Cfloat}, C_NULL), Csize_t(0),
                                 n_stars, data_dim, convert(Ptr{Cdouble}, C_NULL), Csize_t(0)))
    stars = Matrix{Float32}(undef, data_dim[], n_stars[])
    conditions = Vector{Float64}(undef, condition_dim)
    check(L.gml_flow_read_galaxy(p, Int64(galaxy_id), stars, Csize_t(length(stars)), n_stars,
                                 data_dim, conditions, Csize_t(length(conditions))))
    return stars, conditions
end

"""
    flow_evaluate(model, stars_path, galaxy_id, n_samples; seed=0, context=model.context)
        -> (galaxy_ids, delta_log_mass, mmd)

GalacticFlow's evaluation: MMD² between `n_samples` stars drawn for the
conditions of galaxy `galaxy_id` and the stars of every galaxy of the table.
"""
function flow_evaluate(m::Model, stars_path::AbstractString, galaxy_id::Integer,
                       n_samples::Integer; seed::Integer = 0, context::Context = m.context)
    p = _cstring(stars_path)
    n = Ref{Int64}(0)
    _before_call(context)
    status = L.gml_flow_evaluate(context, m, p, Int64(galaxy_id), Int64(n_samples), UInt64(seed),
                                 convert(Ptr{Int64}, C_NULL), convert(Ptr{Cdouble}, C_NULL),
                                 convert(Ptr{Cdouble}, C_NULL), Csize_t(0), n)
    _check_call(context, status)
    ids = Vector{Int64}(undef, n[])
    delta = Vector{Float64}(undef, n[])
    mmd = Vector{Float64}(undef, n[])
    _before_call(context)
    status = L.gml_flow_evaluate(context, m, p, Int64(galaxy_id), Int64(n_samples), UInt64(seed),
                                 ids, delta, mmd, Csize_t(length(ids)), n)
    _check_call(context, status)
    return (galaxy_ids = ids, delta_log_mass = delta, mmd = mmd)
end

"""
    flow_simulate(context, path, n_galaxies, n_stars; conditions=nothing, seed=0)

Writes a star table (.h5 or .fits) of synthetic galaxies from the built-in
generator: `conditions` a `4 × n_galaxies` matrix, or `nothing` to draw
plausible galaxies.
"""
function flow_simulate(c::Context, path::AbstractString, n_galaxies::Integer, n_stars::Integer;
                       conditions = nothing, seed::Integer = 0)
    cond = if conditions === nothing
        convert(Ptr{Cdouble}, C_NULL)
    else
        a = _columns(Float64, conditions, 4, "conditions", "generator conditions")
        size(a, 2) == n_galaxies || throw(DimensionMismatch(
            "conditions has $(size(a, 2)) columns for $(n_galaxies) galaxies"))
        a
    end
    _before_call(c)
    status = L.gml_flow_simulate(c, Int64(n_galaxies), Int64(n_stars), cond, UInt64(seed),
                                 _cstring(path))
    _check_call(c, status)
    return nothing
end
