# The posterior family (SEDflow): amortized posteriors for whole catalogs.

"""
    posterior_dims(model) -> (theta_dim, x_dim)
"""
function posterior_dims(m::Model)
    t = Ref{Int64}(0)
    x = Ref{Int64}(0)
    check(L.gml_posterior_dims(m, t, x))
    return (t[], x[])
end

"""
    posterior_describe(model) -> String

JSON with the parameter and observation labels, the prior (`"prior"`: its
JSON form, or null), its support (`"prior_lower"`, `"prior_upper"`; null
entries are unbounded), the training range of x, the observation kind and the
architecture.
"""
posterior_describe(m::Model) = _string_out((b, n, len) -> L.gml_posterior_describe(m, b, n, len))

"""
    posterior_sample(model, x, n_samples; seed=0, context=model.context)
        -> (theta, n_outside)

Posterior draws for each observation. `x` is an `x_dim × n_obs` matrix (the C
array [n_obs, x_dim]) or a vector for one observation. `theta` is a
`theta_dim × n_samples × n_obs` array (the C array [n_obs, n_samples,
theta_dim]); `n_outside[i]` counts observation i's draws outside the prior's
support (they are returned, not dropped; [`posterior_draw`](@ref) replaces
them). Observation i's draws depend only on (seed, i).
"""
function posterior_sample(m::Model, x, n_samples::Integer; seed::Integer = 0,
                          context::Context = m.context)
    theta_dim, x_dim = posterior_dims(m)
    obs = _columns(Float64, x, x_dim, "x", "values per observation")
    n_obs = size(obs, 2)
    theta = Array{Float64,3}(undef, theta_dim, n_samples, n_obs)
    n_outside = Vector{Int64}(undef, n_obs)
    _before_call(context)
    status = L.gml_posterior_sample(context, m, obs, Int64(n_obs), Int64(n_samples),
                                    UInt64(seed), theta, Csize_t(length(theta)), n_outside)
    _check_call(context, status)
    return (theta = theta, n_outside = n_outside)
end

"""
    posterior_sample_to_file(model, x, n_samples, path; seed=0, context=model.context)

The draws of [`posterior_sample`](@ref) streamed to a file (written
atomically), for sample sizes beyond memory. The extension picks the format:
`.h5` (datasets `samples` [n_obs, n_samples, theta_dim] and `x`, float32),
`.fits` (one row per draw: OBS, a column per parameter, INSIDE) or `.npy`
(float64 [n_obs, n_samples, theta_dim]; read in Julia it is the C order).
"""
function posterior_sample_to_file(m::Model, x, n_samples::Integer, path::AbstractString;
                                  seed::Integer = 0, context::Context = m.context)
    _, x_dim = posterior_dims(m)
    obs = _columns(Float64, x, x_dim, "x", "values per observation")
    _before_call(context)
    status = L.gml_posterior_sample_to_file(context, m, obs, Int64(size(obs, 2)),
                                            Int64(n_samples), UInt64(seed), _cstring(path))
    _check_call(context, status)
    return nothing
end

const _TRUNCATE_MODES = (:auto => Int32(-1), :on => Int32(1), :off => Int32(0))

mutable struct _PriorLogProb
    f::Any
    error::Any
end

function _prior_log_prob_trampoline(theta::Ptr{Cdouble}, n::Int64, theta_dim::Int64,
                                    log_prob::Ptr{Cdouble}, user::Ptr{Cvoid})::Int32
    try
        prior = unsafe_pointer_to_objref(user)::_PriorLogProb
        try
            # theta [n, theta_dim] in C order is theta_dim × n here.
            t = copy(unsafe_wrap(Array, theta, (Int(theta_dim), Int(n))))
            lp = prior.f(t)
            length(lp) == n || throw(DimensionMismatch(
                "prior_log_prob returned $(length(lp)) values for $(n) thetas; it must " *
                "return one per column"))
            out = unsafe_wrap(Array, log_prob, Int(n))
            # A support mask is the natural answer for a truncation prior,
            # but true/false as 1.0/0.0 would accept every draw.
            if eltype(lp) == Bool
                out .= ifelse.(vec(lp), 0.0, -Inf)
            else
                copyto!(out, vec(lp))
            end
            return Int32(0)
        catch err
            prior.error = CapturedException(err, catch_backtrace())
            return Int32(1)
        end
    catch
        return Int32(1)
    end
end

# gml_posterior_sample_options and the host prior the C side calls back,
# which the caller must GC.@preserve across the call.
function _sample_options(keep::Vector{Any}, truncate, min_acceptance, prior_log_prob)
    fields = Dict{Symbol,Any}(:truncate => _enum(truncate, _TRUNCATE_MODES, "truncate mode"))
    min_acceptance === nothing || (fields[:min_acceptance] = Float64(min_acceptance))
    opts = _options(L.gml_posterior_sample_options, L.gml_posterior_sample_options_default, keep;
                    fields...)
    prior_log_prob === nothing && return opts, nothing
    prior = _PriorLogProb(prior_log_prob, nothing)
    push!(keep, prior)
    fn = @cfunction(_prior_log_prob_trampoline, Int32,
                    (Ptr{Cdouble}, Int64, Int64, Ptr{Cdouble}, Ptr{Cvoid}))
    return _with(opts; prior_log_prob = fn, prior_user = pointer_from_objref(prior)), prior
end

"""
    posterior_draw(model, x, n_samples; seed=0, truncate=:auto, min_acceptance=nothing,
                   prior_log_prob=nothing, context=model.context)
        -> (theta, n_accepted, n_proposed)

Posterior draws truncated to the prior's support (sbi's rejection sampling):
a flow puts some mass outside a bounded prior, where no simulation came from;
those draws are rejected and replaced. `x` and `theta` as in
[`posterior_sample`](@ref); observation i's `n_accepted[i]` draws come first,
NaN after them where its acceptance fell below `min_acceptance` (default
1e-3). `n_proposed[i]` counts the draws made (`n_accepted ./ n_proposed` is
the acceptance). `truncate`: `:auto` (where the model's prior has a bound),
`:on` (always; non-finite draws are rejected too), `:off` (exactly
`posterior_sample`'s draws), or -1, 1, 0. `prior_log_prob`, a function of a
`theta_dim × n` matrix returning `n` log densities (or a `Bool` support
mask), replaces the model's prior: draws where it is not finite are
rejected. It runs on the calling task; what it throws is rethrown.
"""
function posterior_draw(m::Model, x, n_samples::Integer; seed::Integer = 0,
                        truncate::Union{Symbol,Integer} = :auto, min_acceptance = nothing,
                        prior_log_prob = nothing, context::Context = m.context)
    theta_dim, x_dim = posterior_dims(m)
    obs = _columns(Float64, x, x_dim, "x", "values per observation")
    n_obs = size(obs, 2)
    keep = Any[]
    opts, prior = _sample_options(keep, truncate, min_acceptance, prior_log_prob)
    theta = Array{Float64,3}(undef, theta_dim, n_samples, n_obs)
    n_accepted = Vector{Int64}(undef, n_obs)
    n_proposed = Vector{Int64}(undef, n_obs)
    _before_call(context)
    status = GC.@preserve keep L.gml_posterior_draw(context, m, obs, Int64(n_obs), Int64(n_samples),
                                                    UInt64(seed), Ref(opts), theta,
                                                    Csize_t(length(theta)), n_accepted, n_proposed)
    prior === nothing || prior.error === nothing || throw(prior.error)
    _check_call(context, status)
    return (theta = theta, n_accepted = n_accepted, n_proposed = n_proposed)
end

"""
    posterior_draw_to_file(model, x, n_samples, path; seed=0, truncate=:auto,
                           min_acceptance=nothing, prior_log_prob=nothing,
                           context=model.context)

The draws of [`posterior_draw`](@ref) streamed to a file (written atomically)
in the formats of [`posterior_sample_to_file`](@ref); an observation left
short has NaN rows after its accepted draws (in FITS with INSIDE 0).
"""
function posterior_draw_to_file(m::Model, x, n_samples::Integer, path::AbstractString;
                                seed::Integer = 0, truncate::Union{Symbol,Integer} = :auto,
                                min_acceptance = nothing, prior_log_prob = nothing,
                                context::Context = m.context)
    _, x_dim = posterior_dims(m)
    obs = _columns(Float64, x, x_dim, "x", "values per observation")
    keep = Any[]
    opts, prior = _sample_options(keep, truncate, min_acceptance, prior_log_prob)
    _before_call(context)
    status = GC.@preserve keep L.gml_posterior_draw_to_file(context, m, obs, Int64(size(obs, 2)),
                                                            Int64(n_samples), UInt64(seed),
                                                            Ref(opts), _cstring(path))
    prior === nothing || prior.error === nothing || throw(prior.error)
    _check_call(context, status)
    return nothing
end

"""
    posterior_log_prob(model, theta, x; context=model.context) -> Vector{Float64}

log q(theta | x) of each column of `theta` (`theta_dim × n`), with `x` one
observation for all (a vector) or one column per theta (`x_dim × n`).
"""
function posterior_log_prob(m::Model, theta, x; context::Context = m.context)
    theta_dim, x_dim = posterior_dims(m)
    t = _columns(Float64, theta, theta_dim, "theta", "parameters")
    obs = _columns(Float64, x, x_dim, "x", "values per observation")
    n = size(t, 2)
    n_x = size(obs, 2)
    (n_x == 1 || n_x == n) || throw(DimensionMismatch(
        "x has $(n_x) columns; give 1 (one observation for all) or one per theta ($(n))"))
    log_prob = Vector{Float64}(undef, n)
    _before_call(context)
    status = L.gml_posterior_log_prob(context, m, t, Int64(n), obs, Int64(n_x), log_prob)
    _check_call(context, status)
    return log_prob
end

"""
    posterior_summarize(model, x, n_samples; seed=0, context=model.context)
        -> (summary, n_outside)

Posterior summaries without the draws: `summary` is a `5 × theta_dim × n_obs`
array (the C array [n_obs, theta_dim, GML_SUMMARY_COLUMNS]) whose first index
is median, 16th percentile, 84th percentile, mean, standard deviation
(`GML_SUMMARY_* + 1`), of `n_samples` draws inside the prior's support
([`posterior_draw`](@ref) with its defaults); `n_outside` counts the draws
rejected outside it.
"""
function posterior_summarize(m::Model, x, n_samples::Integer; seed::Integer = 0,
                             context::Context = m.context)
    theta_dim, x_dim = posterior_dims(m)
    obs = _columns(Float64, x, x_dim, "x", "values per observation")
    n_obs = size(obs, 2)
    summary = Array{Float64,3}(undef, Int(L.GML_SUMMARY_COLUMNS), theta_dim, n_obs)
    n_outside = Vector{Int64}(undef, n_obs)
    _before_call(context)
    status = L.gml_posterior_summarize(context, m, obs, Int64(n_obs), Int64(n_samples),
                                       UInt64(seed), summary, Csize_t(length(summary)), n_outside)
    _check_call(context, status)
    return (summary = summary, n_outside = n_outside)
end

mutable struct _Simulator
    f::Any
    theta_dim::Int
    x_dim::Int
    error::Any
end

function _simulator_trampoline(theta::Ptr{Cdouble}, n::Int64, x_out::Ptr{Cdouble},
                               user::Ptr{Cvoid})::Int32
    try
        sim = unsafe_pointer_to_objref(user)::_Simulator
        try
            # theta [n, theta_dim] in C order is theta_dim × n here.
            t = copy(unsafe_wrap(Array, theta, (sim.theta_dim, Int(n))))
            x = sim.f(t)
            size(x) == (sim.x_dim, Int(n)) || throw(DimensionMismatch(
                "the simulator returned an array of size $(size(x)) for $(n) thetas; it must " *
                "return an x_dim × n matrix ($(sim.x_dim) × $(n))"))
            out = unsafe_wrap(Array, x_out, (sim.x_dim, Int(n)))
            copyto!(out, x)
            return Int32(0)
        catch err
            sim.error = CapturedException(err, catch_backtrace())
            return Int32(1)
        end
    catch
        return Int32(1)
    end
end

# A prior as the JSON text the library reads (docs/posterior.md, "Priors"):
# text passes as is; dictionaries, named tuples, vectors, numbers and
# strings are written out, a matrix (an mvn covariance) row by row.
_json_text(s::AbstractString) = String(s)
_json_text(::Nothing) = "null"
_json_text(b::Bool) = b ? "true" : "false"
_json_text(v::Integer) = string(v)
function _json_text(v::Real)
    isfinite(v) || throw(ArgumentError("a prior holds $(v), which has no JSON form"))
    return repr(Float64(v))
end
_json_text(s::Symbol) = _json_quoted(string(s))
_json_text(v::AbstractVector) = "[" * join((_json_value(e) for e in v), ",") * "]"
_json_text(m::AbstractMatrix) = _json_text([collect(r) for r in eachrow(m)])
_json_text(d::AbstractDict) =
    "{" * join((_json_quoted(string(k)) * ":" * _json_value(v) for (k, v) in d), ",") * "}"
_json_text(t::NamedTuple) =
    "{" * join((_json_quoted(string(k)) * ":" * _json_value(v) for (k, v) in pairs(t)), ",") * "}"
# Inside a prior, text is a JSON string; only the prior itself may be text.
_json_value(v::AbstractString) = _json_quoted(v)
_json_value(v) = _json_text(v)
function _json_quoted(s::AbstractString)
    out = IOBuffer()
    print(out, '"')
    for ch in s
        if ch == '"' || ch == '\\'
            print(out, '\\', ch)
        elseif ch < ' '
            print(out, "\\u", string(UInt16(ch), base = 16, pad = 4))
        else
            print(out, ch)
        end
    end
    print(out, '"')
    return String(take!(out))
end

mutable struct _PriorSampler
    f::Any
    error::Any
end

function _prior_sample_trampoline(first_row::Int64, n::Int64, theta_dim::Int64, seed::UInt64,
                                  theta_out::Ptr{Cdouble}, user::Ptr{Cvoid})::Int32
    try
        prior = unsafe_pointer_to_objref(user)::_PriorSampler
        try
            t = prior.f(first_row, Int(n), seed)
            size(t) == (Int(theta_dim), Int(n)) || throw(DimensionMismatch(
                "prior_sample returned an array of size $(size(t)) for $(n) rows; it must " *
                "return a theta_dim × n matrix ($(theta_dim) × $(n))"))
            copyto!(unsafe_wrap(Array, theta_out, (Int(theta_dim), Int(n))), t)
            return Int32(0)
        catch err
            prior.error = CapturedException(err, catch_backtrace())
            return Int32(1)
        end
    catch
        return Int32(1)
    end
end

"""
    posterior_simulate(simulator, context, path, prior_lower, prior_upper, x_dim, n;
                       prior=nothing, prior_sample=nothing, theta_dim=nothing, kw...)

Writes a training set of `n` simulations to an HDF5 file: theta from the
prior, and `x = simulator(theta)`, called with a `theta_dim × batch` matrix
and returning an `x_dim × batch` matrix. The prior is one of: the box
[`prior_lower`, `prior_upper`]; `prior`, its JSON text or a dictionary
(docs/posterior.md, "Priors": `Dict("kind" => "normal", "mean" => [0, 1],
"std" => [1, 2])`; the bounds `nothing`, `theta_dim` given); or
`prior_sample(first_row, n, seed)`, a Julia prior returning the
`theta_dim × n` draws of training-set rows `first_row`.. (derive them from
`seed` and `first_row`, so a resumed run repeats an uninterrupted one), the
bounds then its support (`±Inf` where unbounded, or `nothing`). The
callbacks run on the calling task (the library calls them only on the
thread that made this call). Other keywords are the
`gml_posterior_simulate_options` fields: `batch_size`, `seed`, `resume`,
`theta_names`, `x_names`.
"""
function posterior_simulate(simulator, c::Context, path::AbstractString, prior_lower,
                            prior_upper, x_dim::Integer, n::Integer; prior = nothing,
                            prior_sample = nothing, theta_dim::Union{Nothing,Integer} = nothing,
                            kw...)
    (prior_lower === nothing) == (prior_upper === nothing) ||
        throw(ArgumentError("give both prior_lower and prior_upper, or neither"))
    lo = hi = nothing
    dim = theta_dim
    if prior_lower !== nothing
        lo = _dense(Float64, prior_lower, "prior_lower")
        hi = _dense(Float64, prior_upper, "prior_upper")
        (ndims(lo) == 1 && size(lo) == size(hi)) || throw(DimensionMismatch(
            "prior_lower and prior_upper must be vectors of one length; got sizes " *
            "$(size(lo)) and $(size(hi))"))
        (dim === nothing || dim == length(lo)) || throw(DimensionMismatch(
            "theta_dim is $(dim) but the prior bounds have $(length(lo)) values"))
        dim = length(lo)
    end
    dim === nothing &&
        throw(ArgumentError("give prior_lower and prior_upper, or theta_dim with a prior"))
    keep = Any[]
    fields = Dict{Symbol,Any}(kw)
    prior === nothing || (fields[:prior] = _json_text(prior))
    opts = _options(L.gml_posterior_simulate_options, L.gml_posterior_simulate_options_default,
                    keep; fields...)
    sampler = nothing
    if prior_sample !== nothing
        sampler = _PriorSampler(prior_sample, nothing)
        push!(keep, sampler)
        sample_fn = @cfunction(_prior_sample_trampoline, Int32,
                               (Int64, Int64, Int64, UInt64, Ptr{Cdouble}, Ptr{Cvoid}))
        opts = _with(opts; prior_sample = sample_fn, prior_user = pointer_from_objref(sampler))
    end
    sim = _Simulator(simulator, Int(dim), Int(x_dim), nothing)
    fn = @cfunction(_simulator_trampoline, Int32, (Ptr{Cdouble}, Int64, Ptr{Cdouble}, Ptr{Cvoid}))
    no_bound = convert(Ptr{Cdouble}, C_NULL)
    _before_call(c)
    status = GC.@preserve keep sim lo hi L.gml_posterior_simulate(
        c, fn, pointer_from_objref(sim), Int64(dim), Int64(x_dim),
        lo === nothing ? no_bound : pointer(lo), hi === nothing ? no_bound : pointer(hi),
        Int64(n), Ref(opts), _cstring(path))
    sim.error === nothing || throw(sim.error)
    sampler === nothing || sampler.error === nothing || throw(sampler.error)
    _check_call(c, status)
    return nothing
end

"""
    posterior_simulate_sed(context, path, n; data_dir=nothing, kw...)

As `posterior_simulate` with the built-in SED forward model (kcorrect
templates, dust, SDSS ugriz). `data_dir` holds sed/ and sdss/ (`nothing`:
`GML_DATA_DIR`, else the source tree's data/).
"""
function posterior_simulate_sed(c::Context, path::AbstractString, n::Integer;
                                data_dir::Union{Nothing,AbstractString} = nothing, kw...)
    keep = Any[]
    opts = _options(L.gml_posterior_simulate_options, L.gml_posterior_simulate_options_default,
                    keep; kw...)
    _before_call(c)
    status = GC.@preserve keep L.gml_posterior_simulate_sed(c, _cstr_arg(data_dir), Int64(n),
                                                            Ref(opts), _cstring(path))
    _check_call(c, status)
    return nothing
end

"""
    posterior_training_set_info(path) -> (theta_dim, x_dim, rows)
"""
function posterior_training_set_info(path::AbstractString)
    t = Ref{Int64}(0)
    x = Ref{Int64}(0)
    r = Ref{Int64}(0)
    check(L.gml_posterior_training_set_info(_cstring(path), t, x, r))
    return (t[], x[], r[])
end

"""
    posterior_train(context, training_set_path, model_path; kw...)

Trains a posterior estimator and writes the model file. Keywords are the
`gml_posterior_train_options` fields (`estimator`, `num_blocks`,
`hidden_width`, `max_epochs`, `learning_rate`, `seed`, ...).
"""
function posterior_train(c::Context, training_set_path::AbstractString,
                         model_path::AbstractString; kw...)
    keep = Any[]
    opts = _options(L.gml_posterior_train_options, L.gml_posterior_train_options_default, keep;
                    kw...)
    _before_call(c)
    status = GC.@preserve keep L.gml_posterior_train(c, _cstring(training_set_path), Ref(opts),
                                                     _cstring(model_path))
    _check_call(c, status)
    return nothing
end

# gml_posterior_import_options from keywords named as its fields. Labels and
# column lists may be vectors of strings, hdu a number, prior a dictionary;
# prior_dim is the length of the box, which must come whole: half of one
# would be no prior.
function _import_options(keep::Vector{Any}; kw...)
    fields = Dict{Symbol,Any}()
    for (k, v) in kw
        fields[k] = k === :prior && v !== nothing ? _json_text(v) :
                    v isa AbstractVector{<:AbstractString} ? join(v, ",") :
                    k === :hdu && v isa Integer ? string(v) : v
    end
    lower = get(fields, :prior_lower, nothing)
    upper = get(fields, :prior_upper, nothing)
    (lower === nothing) == (upper === nothing) ||
        throw(ArgumentError("give both prior_lower and prior_upper, or neither"))
    if lower !== nothing
        lo = vec(_dense(Float64, lower, "prior_lower"))
        hi = vec(_dense(Float64, upper, "prior_upper"))
        length(lo) == length(hi) || throw(DimensionMismatch(
            "prior_lower has $(length(lo)) values and prior_upper $(length(hi))"))
        fields[:prior_lower] = lo
        fields[:prior_upper] = hi
        fields[:prior_dim] = Int64(length(lo))
    end
    return _options(L.gml_posterior_import_options, L.gml_posterior_import_options_default, keep;
                    fields...)
end

"""
    posterior_training_set_write(context, theta, x, path; kw...) -> NamedTuple

Writes simulations made elsewhere as a training set (HDF5, atomically) that
[`posterior_train`](@ref) reads. `theta` is a `theta_dim × n` matrix (the C
array [n, theta_dim]) and `x` an `x_dim × n` matrix, a column per simulation.
Keywords are the `gml_posterior_import_options` fields that apply:
`prior_lower` and `prior_upper` (`theta_dim` each: the box prior the
simulations were drawn from, stored with the set and the model trained on
it), or instead `prior` (its JSON text or a dictionary, docs/posterior.md,
"Priors": uniform, normal, lognormal, independent, mvn), `theta_names` and
`x_names` (labels, comma-separated or a vector of strings),
`reject_nonfinite` (`true`: a row with NaN or infinity is an error;
`false`, the default: such rows are dropped and counted). Returns the
`gml_posterior_import_report` fields: `theta_dim`, `x_dim`, `rows_read`,
`rows_written`, `rows_nonfinite` and `rows_outside_prior` (kept, but a sign
that the prior is not the one the simulations were drawn from).
"""
function posterior_training_set_write(c::Context, theta, x, path::AbstractString; kw...)
    t = _dense(Float64, theta, "theta")
    xs = _dense(Float64, x, "x")
    (ndims(t) == 2 && ndims(xs) == 2) || throw(DimensionMismatch(
        "theta and x must be matrices, theta_dim × n and x_dim × n; got sizes $(size(t)) " *
        "and $(size(xs))"))
    size(xs, 2) == size(t, 2) || throw(DimensionMismatch(
        "theta has $(size(t, 2)) columns and x $(size(xs, 2)); give one column per " *
        "simulation ($(_ORDER_HINT))"))
    keep = Any[]
    opts = _import_options(keep; kw...)
    report = Ref(_sized(L.gml_posterior_import_report))
    _before_call(c)
    status = GC.@preserve keep L.gml_posterior_training_set_write(c, t, xs, Int64(size(t, 2)),
                                                                  Int64(size(t, 1)),
                                                                  Int64(size(xs, 1)), Ref(opts),
                                                                  _cstring(path), report)
    _check_call(c, status)
    return _namedtuple(report[])
end

"""
    posterior_import(context, theta_path, path; x_path=nothing, kw...) -> NamedTuple

Imports simulations from files as a training set (HDF5, atomically). Each
file's extension, in any letter case, picks its format: `.h5`/`.hdf5`
(datasets `theta` and `x`, [n] or [n, columns]), `.fits`/`.fit`/`.fts`
(table columns by name), `.npy` (theta in `theta_path`, x in `x_path`),
`.npz` (arrays `theta` and `x`) or `.csv`/`.txt`/`.tsv`/`.dat` (a header
line naming the columns). `x_path` (`nothing`: x is in `theta_path`) holds
x. Keywords are the `gml_posterior_import_options` fields: `theta` and `x`
(datasets or .npz keys; FITS and CSV column names, comma-separated or a
vector of strings, `x = "*"` taking every numeric column `theta` does not),
`hdu` (FITS extension name or number; `nothing`: the first table), and
`prior_lower`, `prior_upper`, `prior`, `theta_names`, `x_names`, `reject_nonfinite`
as in [`posterior_training_set_write`](@ref), whose report it returns. A
source that cannot be read throws a `GML_ERR_FORMAT` error whose message
lists every problem found.
"""
function posterior_import(c::Context, theta_path::AbstractString, path::AbstractString;
                          x_path::Union{Nothing,AbstractString} = nothing, kw...)
    keep = Any[]
    opts = _import_options(keep; kw...)
    report = Ref(_sized(L.gml_posterior_import_report))
    _before_call(c)
    status = GC.@preserve keep L.gml_posterior_import(c, _cstring(theta_path), _cstr_arg(x_path),
                                                      Ref(opts), _cstring(path), report)
    _check_call(c, status)
    return _namedtuple(report[])
end

"""
    posterior_run_catalog(model, catalog_path, mapping, out_path; context=model.context, kw...)

Posteriors for every row of a FITS catalog, written as a FITS table (ROW,
FLAGS, N_OUTSIDE, N_DRAWS, X and per-parameter summaries). Keywords are the
`gml_posterior_run_options` fields: `n_samples`, `seed`, `hdu`,
`samples_path`, `chunk_rows`, `first_row`, `max_rows`, and `truncate` and
`min_acceptance` as for [`posterior_draw`](@ref) (a row below
`min_acceptance` is flagged `GML_POSTERIOR_FLAG_LOW_ACCEPTANCE`).
"""
function posterior_run_catalog(m::Model, catalog_path::AbstractString, mapping::AbstractString,
                               out_path::AbstractString; context::Context = m.context, kw...)
    keep = Any[]
    fields = Dict{Symbol,Any}(kw)
    haskey(fields, :truncate) &&
        (fields[:truncate] = _enum(fields[:truncate], _TRUNCATE_MODES, "truncate mode"))
    opts = _options(L.gml_posterior_run_options, L.gml_posterior_run_options_default, keep;
                    fields...)
    _before_call(context)
    status = GC.@preserve keep L.gml_posterior_run_catalog(context, m, _cstring(catalog_path),
                                                           _cstring(mapping), Ref(opts),
                                                           _cstring(out_path))
    _check_call(context, status)
    return nothing
end

"""
    posterior_diagnose(model, simulations_path; n_sims, n_samples, levels=9,
                       first_row=0, seed=0, context=model.context)

Calibration of a posterior model on held-out simulations. Returns a
NamedTuple: `ranks` (`theta_dim × n_sims`, SBC ranks), `sbc_pvalue`
(per parameter), `coverage` (`(theta_dim + 1) × levels`: per marginal, then
the highest-density region), `tarp_ecp` (`levels + 1`) and `tarp_summary`
(ATC and KS p-value).
"""
function posterior_diagnose(m::Model, simulations_path::AbstractString; n_sims::Integer,
                            n_samples::Integer, levels::Integer = 9, first_row::Integer = 0,
                            seed::Integer = 0, context::Context = m.context)
    theta_dim, _ = posterior_dims(m)
    path = _cstring(simulations_path)
    ranks = Matrix{Int64}(undef, theta_dim, n_sims)
    sbc = Vector{Float64}(undef, theta_dim)
    coverage = Matrix{Float64}(undef, theta_dim + 1, levels)
    ecp = Vector{Float64}(undef, levels + 1)
    tarp = Vector{Float64}(undef, 2)
    request = L.gml_posterior_diagnose_request(UInt32(sizeof(L.gml_posterior_diagnose_request)),
                                               _pointer(path), Int64(first_row), Int64(n_sims),
                                               Int64(n_samples), Int64(levels), UInt64(seed))
    _before_call(context)
    status = GC.@preserve path ranks sbc coverage ecp tarp begin
        result = L.gml_posterior_diagnose_result(
            UInt32(sizeof(L.gml_posterior_diagnose_result)),
            pointer(ranks), Csize_t(length(ranks)), pointer(sbc), Csize_t(length(sbc)),
            pointer(coverage), Csize_t(length(coverage)), pointer(ecp), Csize_t(length(ecp)),
            pointer(tarp), Csize_t(length(tarp)))
        L.gml_posterior_diagnose_batch(context, m, Ref(request), Ref(result))
    end
    _check_call(context, status)
    return (ranks = ranks, sbc_pvalue = sbc, coverage = coverage, tarp_ecp = ecp,
            tarp_summary = tarp)
end
