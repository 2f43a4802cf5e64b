#!/usr/bin/env julia
# Draws the stars of one galaxy from a trained flow model and summarises
# them: per column the median, 16th/84th percentiles, mean and standard
# deviation, and the mean log density of the drawn stars under the model.
# With an output path the summary is also written as a FITS table.
#
#   GALAXYML_LIBRARY=build/lib/libgalaxyml.so \
#   julia --project=bindings/julia/GalaxyML examples/hosts/julia/flow_galaxy_summary.jl \
#         flow.h5 "10.5,4.0,8.0,0.012" [n_stars] [seed] [summary.fits]
#
# The conditions are the model's, in order (by default log10 M*, tau50,
# tau10, mean Z).
using GalaxyML

function percentile(sorted::AbstractVector, q::Real)
    # Linear interpolation between order statistics, as numpy's default.
    h = (length(sorted) - 1) * q + 1
    lo = floor(Int, h)
    hi = min(lo + 1, length(sorted))
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo])
end

# Column names from the model's description, e.g. {"data": ["x", "y", ...], ...}.
function column_names(description::AbstractString, key::AbstractString, n::Integer)
    m = match(Regex("\"$(key)\"\\s*:\\s*\\[([^\\]]*)\\]"), description)
    names = m === nothing ? String[] : [String(x.captures[1]) for x in eachmatch(r"\"([^\"]*)\"", m.captures[1])]
    return length(names) == n ? names : ["column $(i)" for i in 1:n]
end

function main(args)
    if !(2 <= length(args) <= 5)
        println(stderr, "usage: flow_galaxy_summary.jl MODEL CONDITIONS [N_STARS] [SEED] [OUT.fits]")
        return 2
    end
    model_path = args[1]
    conditions = parse.(Float64, split(args[2], ","))
    n_stars = length(args) >= 3 ? parse(Int, args[3]) : 10_000
    seed = length(args) >= 4 ? parse(UInt64, args[4]) : UInt64(1)
    out_path = length(args) >= 5 ? args[5] : nothing

    ctx = Context(device = "auto")
    set_progress!(ctx) do p
        p.total > 0 && print(stderr, "\r", p.stage, ": ", p.done, "/", p.total, " ", p.unit)
        return true
    end
    model = load_model(ctx, model_path; family = "flow")
    data_dim, condition_dim = flow_dims(model)
    description = flow_describe(model)
    names = column_names(description, "data", data_dim)
    println("model ", model_path, " on ", device(ctx), ": ", data_dim, " columns per star, ",
            condition_dim, " conditions per galaxy")

    # One galaxy: a vector of conditions is one column of the
    # condition_dim × n_galaxies matrix.
    draw = flow_sample(model, conditions, n_stars; seed = seed)
    println(stderr)
    draw.outside[1] > 0 &&
        println("warning: the conditions lie ", round(draw.outside[1]; digits = 3),
                " training ranges outside the training set; the model extrapolates")
    stars = draw.stars  # data_dim × n_stars
    log_prob = flow_log_prob(model, stars, conditions)
    finite = filter(isfinite, log_prob)
    println(n_stars, " stars; mean log p(star | galaxy) = ",
            isempty(finite) ? NaN : sum(finite) / length(finite))

    stats = Matrix{Float64}(undef, 5, data_dim)  # median, p16, p84, mean, std per column
    println(rpad("column", 16), lpad("median", 12), lpad("p16", 12), lpad("p84", 12),
            lpad("mean", 12), lpad("std", 12))
    for j in 1:data_dim
        column = sort(Float64.(stars[j, :]))
        mean = sum(column) / length(column)
        std = sqrt(sum((column .- mean) .^ 2) / max(length(column) - 1, 1))
        stats[:, j] = [percentile(column, 0.5), percentile(column, 0.16),
                       percentile(column, 0.84), mean, std]
        println(rpad(names[j], 16), join(lpad.(string.(round.(stats[:, j]; sigdigits = 5)), 12)))
    end

    if out_path !== nothing
        w = TableWriter(out_path; extname = "STARSUM", input_file = model_path,
                        model_checksum = inspect_model(model_path).checksum)
        add_column!(w, "COLUMN", String, 16)
        add_column!(w, "STATS", Float64, 5)
        set_keyword!(w, "CONDS", args[2]; comment = "flow conditions of the galaxy")
        # The COLUMN field holds 16 bytes.
        append_rows!(w, [first(n, 16) for n in names], stats)
        commit!(w)
        close(w)
        println("wrote ", out_path)
    end
    close(model)
    close(ctx)
    return 0
end

exit(main(ARGS))
