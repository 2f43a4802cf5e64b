# Process-wide settings, the log sink, and contexts (device, seed, progress,
# cancellation).

const _LOG_LEVELS = (:error => L.GML_LOG_ERROR, :warning => L.GML_LOG_WARNING,
                     :info => L.GML_LOG_INFO, :debug => L.GML_LOG_DEBUG)

# The Julia log sink; the library holds a pointer to the trampoline below
# for the rest of the process.
const _LOG_SINK = Ref{Any}(nothing)

function _log_trampoline(level::Int32, message::Ptr{Cchar}, user::Ptr{Cvoid})::Cvoid
    # Nothing may unwind into C: a failing sink loses one message.
    try
        _LOG_SINK[](level, _unsafe_text(message))
    catch
    end
    return nothing
end

# Library messages as Julia log records.
function _julia_log(level::Int32, message::String)
    if level == L.GML_LOG_ERROR
        @error message _group=:galaxyml
    elseif level == L.GML_LOG_WARNING
        @warn message _group=:galaxyml
    elseif level == L.GML_LOG_INFO
        @info message _group=:galaxyml
    else
        @debug message _group=:galaxyml
    end
    return nothing
end

"""
    init(; num_threads=0, log_level=:warning, seed=0, log=:julia)

Process-wide settings (optional: the first context initialises with
defaults). `num_threads` (0: `GML_NUM_THREADS`, `OMP_NUM_THREADS`, else one
per core) is fixed by the first initialisation. `log` is `:julia` (library
messages become Julia log records of group `:galaxyml`), `:stderr` (the
library writes `galaxyml: LEVEL: message` lines) or a function
`(level::Int32, message::String) -> nothing`. The sink runs on the thread
that made the library call that logs.
"""
function init(; num_threads::Integer = 0, log_level::Union{Symbol,Integer} = :warning,
              seed::Integer = 0, log = :julia)
    keep = Any[]
    sink = log === :julia ? _julia_log : log === :stderr ? nothing : log
    if sink !== nothing && !(sink isa Base.Callable)
        throw(ArgumentError("log must be :julia, :stderr or a function; got $(repr(log))"))
    end
    fn = sink === nothing ? C_NULL :
         @cfunction(_log_trampoline, Cvoid, (Int32, Ptr{Cchar}, Ptr{Cvoid}))
    opts = _options(L.gml_init_options, L.gml_init_options_default, keep;
                    num_threads = num_threads, log_level = _enum(log_level, _LOG_LEVELS, "log level"),
                    seed = seed, log_fn = fn, log_user = C_NULL)
    _LOG_SINK[] = sink
    check(L.gml_init(Ref(opts)))
    return nothing
end

"""
    Progress

One progress report of a long call: `stage` (e.g. "train"), `done` of `total`
`unit`s (total 0 if unknown), `elapsed_s`, `rate` (units per second), `eta_s`
(negative if unknown), `metric` (NaN if none) named `metric_name`, and
`detail` text.
"""
struct Progress
    stage::String
    done::Int64
    total::Int64
    unit::String
    elapsed_s::Float64
    rate::Float64
    eta_s::Float64
    metric::Float64
    metric_name::String
    detail::String
end

"""
    Context(; device=nothing, seed=nothing, backend=nothing)

A device, random seed and distributed backend for model calls. `device` is
"cpu", "cuda", "cuda:N" or "auto" (the library's default: CUDA when usable);
`seed` (an integer) replaces the process default seed; `backend` is "none"
(default), "mpi" or "auto". Released by `close` or, failing that, by the
garbage collector. One task at a time may use a context.
"""
mutable struct Context
    ptr::Ptr{L.gml_context}
    # Julia function called with a Progress, or nothing.
    progress::Any
    # An exception thrown by a callback during the current call.
    callback_error::Any

    function Context(ptr::Ptr{L.gml_context})
        ctx = new(ptr, nothing, nothing)
        return finalizer(close, ctx)
    end
end

function Context(; device::Union{Nothing,AbstractString} = nothing,
                 seed::Union{Nothing,Integer} = nothing,
                 backend::Union{Nothing,AbstractString} = nothing)
    keep = Any[]
    fields = Dict{Symbol,Any}()
    device === nothing || (fields[:device] = device)
    backend === nothing || (fields[:backend] = backend)
    if seed !== nothing
        fields[:seed] = seed
        fields[:seed_from_init] = Int32(0)
    end
    opts = _options(L.gml_context_options, L.gml_context_options_default, keep; fields...)
    out = Ref{Ptr{L.gml_context}}(C_NULL)
    status = GC.@preserve keep L.gml_context_create(Ref(opts), out)
    check(status)
    return Context(out[])
end

Base.unsafe_convert(::Type{Ptr{L.gml_context}}, c::Context) = _live(c.ptr, "Context")

"""
    close(ctx::Context)

Releases the context now. Later calls with it throw an `ArgumentError`.
"""
function Base.close(c::Context)
    p = c.ptr
    c.ptr = C_NULL
    p == C_NULL || L.gml_context_free(p)
    return nothing
end

Base.isopen(c::Context) = c.ptr != C_NULL

function Base.show(io::IO, c::Context)
    print(io, "GalaxyML.Context(", isopen(c) ? repr(device(c)) : "closed", ")")
end

# A context argument that may be absent (the C side takes NULL).
_context_arg(::Nothing) = convert(Ptr{L.gml_context}, C_NULL)
_context_arg(c::Context) = c

# The status of a call made with `ctx`: a callback's exception first, then
# the library's error.
function _check_call(ctx, status)
    if ctx isa Context && ctx.callback_error !== nothing
        err = ctx.callback_error
        ctx.callback_error = nothing
        throw(err)
    end
    check(status)
end

_before_call(ctx) = (ctx isa Context && (ctx.callback_error = nothing); nothing)

"""
    device(ctx) -> String

The device the context runs on: "cpu" or "cuda:N".
"""
device(c::Context) = _string_out((b, n, len) -> L.gml_context_device(c, b, n, len))

"""
    context_rank(ctx) -> (rank, size)

Rank and size of the context's distributed backend (0 and 1 without one).
"""
function context_rank(c::Context)
    r = Ref{Int32}(0)
    s = Ref{Int32}(0)
    check(L.gml_context_rank(c, r, s))
    return (r[], s[])
end

function _progress_trampoline(p::Ptr{L.gml_progress}, user::Ptr{Cvoid})::Int32
    try
        ctx = unsafe_pointer_to_objref(user)::Context
        try
            r = _load_prefix(p)
            report = Progress(_unsafe_text(r.stage), r.done, r.total, _unsafe_text(r.unit),
                              r.elapsed_s, r.rate, r.eta_s, r.metric,
                              _unsafe_text(r.metric_name), _unsafe_text(r.detail))
            return ctx.progress(report) === false ? Int32(1) : Int32(0)
        catch err
            ctx.callback_error = CapturedException(err, catch_backtrace())
            return Int32(1)
        end
    catch
        return Int32(1)
    end
end

"""
    set_progress!(f, ctx)
    set_progress!(ctx, nothing)

Calls `f(p::Progress)` during every long call made with `ctx`, at most a few
times a second, on the task waiting in that call. Returning `false` stops the
call (it then throws a `GalaxymlError` GML_ERR_CANCELLED); an exception in
`f` stops the call and is rethrown from it.
"""
function set_progress!(f, c::Context)
    f === nothing && return set_progress!(c, nothing)
    fn = @cfunction(_progress_trampoline, Int32, (Ptr{L.gml_progress}, Ptr{Cvoid}))
    c.progress = f
    # The context outlives every call that can report on it, and Julia's
    # collector does not move objects: its address is a stable user pointer.
    check(L.gml_context_set_progress(c, fn, pointer_from_objref(c)))
    return c
end

function set_progress!(c::Context, ::Nothing)
    check(L.gml_context_set_progress(c, C_NULL, C_NULL))
    c.progress = nothing
    return c
end

"""
    cancel(ctx)

Raises the context's cancel flag: the long call running on it, and every later
one, throws GML_ERR_CANCELLED until `cancel_reset`. Safe from any task or
thread.
"""
cancel(c::Context) = (check(L.gml_cancel(c)); nothing)

"""
    cancel_reset(ctx)

Lowers the cancel flag raised by `cancel`.
"""
cancel_reset(c::Context) = (check(L.gml_cancel_reset(c)); nothing)

"""
    selftest(ctx; n_steps=8) -> Float64

Runs a small LibTorch computation on the context's device, reporting progress
as a long call does; returns a checksum that depends only on the context's
seed. Verifies the progress sink, cancellation and device end to end.
"""
function selftest(c::Context; n_steps::Integer = 8)
    checksum = Ref{Cdouble}(0)
    _before_call(c)
    status = L.gml_context_selftest(c, Int64(n_steps), checksum)
    _check_call(c, status)
    return checksum[]
end
