# Compares the Julia package with the C library's own outputs, bit for bit.
# ENV["GALAXYML_REFERENCE_DIR"] is the folder tests/bindings/binding_reference
# wrote (manifest.json, model files, raw little-endian C-order arrays);
# ENV["GALAXYML_LIBRARY"] the library to load.
using Test
using GalaxyML

include("minijson.jl")

const REF = get(ENV, "GALAXYML_REFERENCE_DIR", "")
isfile(joinpath(REF, "manifest.json")) ||
    error("GALAXYML_REFERENCE_DIR must name the folder that binding_reference wrote; got $(repr(REF))")
const MANIFEST = MiniJSON.parse(read(joinpath(REF, "manifest.json"), String))

const DTYPES = Dict("float32" => Float32, "float64" => Float64, "int32" => Int32, "int64" => Int64)

# A reference array in Julia order (its C shape reversed) and its raw bytes.
function reference(name::AbstractString)
    entry = MANIFEST["arrays"][name]
    T = DTYPES[entry["dtype"]]
    shape = Tuple(Int[reverse(entry["shape"])...])
    bytes = read(joinpath(REF, entry["file"]))
    length(bytes) == sizeof(T) * prod(shape) ||
        error("$(entry["file"]) has $(length(bytes)) bytes for $(T) of C shape $(entry["shape"])")
    a = Array{T}(undef, shape)
    copyto!(a, reinterpret(T, bytes))
    return a, bytes
end

bytes_of(a::Array) = copy(reinterpret(UInt8, vec(a)))

# The exception a call throws, or nothing.
caught(f) = try
    f()
    nothing
catch e
    e
end

const CTX = Context(device = "cpu")

@testset "GalaxyML" begin
    @testset "library" begin
        @test abi_version() == 1
        @test version() == MANIFEST["library_version"]
        @test device(CTX) == "cpu"
        @test context_rank(CTX) == (0, 1)
        @test status_name(2) == "GML_ERR_IO"
    end

    @testset "error path" begin
        missing_model = joinpath(REF, "no_such_model.h5")
        err = caught(() -> load_model(CTX, missing_model))
        @test err isa GalaxymlError
        @test err.status == "GML_ERR_IO"
        @test err.code == GalaxyML.LibGalaxyML.GML_ERR_IO
        @test occursin("no_such_model.h5", err.message)
        @test err.message == last_error()
        @test occursin("GML_ERR_IO", sprint(showerror, err))
        err = caught(() -> load_model(CTX, joinpath(REF, MANIFEST["posterior"]["model"]);
                                      family = "flow"))
        @test err isa GalaxymlError && err.status == "GML_ERR_FAMILY"
        @test_throws ArgumentError load_model(CTX, "model\0.h5")
    end

    @testset "flow" begin
        f = MANIFEST["flow"]
        model = load_model(CTX, joinpath(REF, f["model"]); family = "flow")
        @test family(model) == "flow"
        @test inspect_model(joinpath(REF, f["model"])).family == "flow"

        s = f["sample"]
        conditions, _ = reference(s["conditions"])
        stars_c, stars_bytes = reference(s["stars"])
        @test size(conditions, 2) == s["n_galaxies"]
        out = flow_sample(model, conditions, s["n_per_galaxy"]; seed = s["seed"])
        @test size(out.stars) == size(stars_c)
        @test bytes_of(out.stars) == stars_bytes
        @test length(out.outside) == s["n_galaxies"]

        lp = f["log_prob"]
        stars, _ = reference(lp["stars"])
        cond, _ = reference(lp["conditions"])
        _, log_prob_bytes = reference(lp["log_prob"])
        @test size(cond, 2) == lp["n_conditions"]
        @test bytes_of(flow_log_prob(model, stars, cond)) == log_prob_bytes

        # The C orientation, a wrong rank and a wrong element type are
        # refused before the library is called.
        @test_throws DimensionMismatch flow_sample(model, permutedims(conditions), 3)
        @test_throws DimensionMismatch flow_log_prob(model, permutedims(stars), cond)
        @test_throws DimensionMismatch flow_sample(model, zeros(size(conditions)..., 1), 3)
        @test_throws ArgumentError flow_sample(model, fill("1.0", size(conditions)), 3)
        # Non-finite conditions are the library's to refuse.
        bad = copy(conditions)
        bad[1, 1] = NaN
        err = caught(() -> flow_sample(model, bad, 3))
        @test err isa GalaxymlError && err.status == "GML_ERR_INVALID_ARGUMENT"

        close(model)
        @test !isopen(model)
        @test_throws ArgumentError flow_dims(model)
    end

    @testset "posterior" begin
        p = MANIFEST["posterior"]
        model = load_model(CTX, joinpath(REF, p["model"]); family = "posterior")

        s = p["sample"]
        x, _ = reference(s["x"])
        theta_c, theta_bytes = reference(s["theta"])
        @test size(x, 2) == s["n_obs"]
        out = posterior_sample(model, x, s["n_samples"]; seed = s["seed"])
        @test size(out.theta) == size(theta_c)
        @test bytes_of(out.theta) == theta_bytes
        # The same draws streamed to a .npy file: its data after the header.
        npy = joinpath(mktempdir(), "draws.npy")
        posterior_sample_to_file(model, x, s["n_samples"], npy; seed = s["seed"])
        raw = read(npy)
        header = 10 + Int(raw[9]) + 256 * Int(raw[10])
        @test raw[header+1:end] == theta_bytes

        m = p["summarize"]
        x2, _ = reference(m["x"])
        summary_c, summary_bytes = reference(m["summary"])
        out = posterior_summarize(model, x2, m["n_samples"]; seed = m["seed"])
        @test size(out.summary) == size(summary_c)
        @test bytes_of(out.summary) == summary_bytes

        @test_throws DimensionMismatch posterior_sample(model, permutedims(x2), 4)
        close(model)
    end

    @testset "posterior truncated draws" begin
        # The prior box of tests/bindings/binding_reference.c (kPriorLower
        # and kPriorUpper there).
        lower, upper = [-1.0, 0.0, -2.0], [1.0, 3.0, 2.0]
        p = MANIFEST["posterior"]
        model = load_model(CTX, joinpath(REF, p["model"]); family = "posterior")
        @test occursin("\"prior\"", posterior_describe(model))
        s = p["sample"]
        x, _ = reference(s["x"])
        _, theta_bytes = reference(s["theta"])
        n = s["n_samples"]
        off = posterior_draw(model, x, n; seed = s["seed"], truncate = :off)
        @test bytes_of(off.theta) == theta_bytes
        @test all(off.n_accepted .== n) && all(off.n_proposed .== n)
        on = posterior_draw(model, x, n; seed = s["seed"])
        @test all(lower .<= on.theta .<= upper)
        @test all(on.n_accepted .== n) && all(on.n_proposed .>= n)
        npy = joinpath(mktempdir(), "truncated.npy")
        posterior_draw_to_file(model, x, n, npy; seed = s["seed"], truncate = -1,
                               min_acceptance = 1e-3)
        raw = read(npy)
        header = 10 + Int(raw[9]) + 256 * Int(raw[10])
        @test raw[header+1:end] == bytes_of(on.theta)
        # A Julia prior replaces the model's box: here a half-space.
        half = posterior_draw(model, x, n; seed = s["seed"], prior_log_prob = t -> t[1, :] .>= 0)
        @test all(half.theta[1, :, :] .>= 0) && all(half.n_accepted .== n)
        err = caught(() -> posterior_draw(model, x, n; prior_log_prob = t -> Float64[]))
        @test err isa CapturedException && err.ex isa DimensionMismatch
        @test_throws ArgumentError posterior_draw(model, x, n; truncate = :sometimes)
        close(model)
    end

    @testset "posterior training sets" begin
        # Simulations made here written as a training set, then that file
        # imported again with the default dataset names.
        dir = mktempdir()
        n = 40
        theta = zeros(2, n)
        theta[1, :] = ((1:n) .- 0.5) ./ n
        theta[2, :] = mod.(7 .* (1:n), n) ./ n
        theta[2, n] = 1.5  # outside the box: kept and counted
        x = vcat(theta[1:1, :] .+ theta[2:2, :], theta[1:1, :] .- theta[2:2, :],
                 2 .* theta[1:1, :])
        x[2, 8] = NaN  # C row 7: dropped and counted
        written = joinpath(dir, "host_sims.h5")
        r = posterior_training_set_write(CTX, theta, x, written; prior_lower = [0.0, 0.0],
                                         prior_upper = [1.0, 1.0], theta_names = ["mass", "age"],
                                         x_names = "f0,f1,f2")
        @test r == (theta_dim = 2, x_dim = 3, rows_read = 40, rows_written = 39,
                    rows_nonfinite = 1, rows_outside_prior = 1)
        @test posterior_training_set_info(written) == (2, 3, 39)

        imported = joinpath(dir, "imported.h5")
        r = posterior_import(CTX, written, imported)
        @test (r.rows_read, r.rows_written, r.rows_nonfinite, r.rows_outside_prior) ==
              (39, 39, 0, 0)
        r = posterior_import(CTX, written, imported; theta = "theta", x = "x",
                             prior_lower = [0, 0], prior_upper = [1, 1], reject_nonfinite = true)
        @test (r.theta_dim, r.x_dim, r.rows_outside_prior) == (2, 3, 1)
        @test posterior_training_set_info(imported) == (2, 3, 39)

        err = caught(() -> posterior_import(CTX, written, imported; x = "no_such_dataset"))
        @test err isa GalaxymlError && err.status == "GML_ERR_FORMAT"
        @test occursin("no_such_dataset", err.message)
        err = caught(() -> posterior_training_set_write(CTX, theta, x, imported;
                                                        reject_nonfinite = true))
        @test err isa GalaxymlError && err.status == "GML_ERR_INVALID_ARGUMENT"
        @test occursin("row 7", err.message)
        @test_throws ArgumentError posterior_import(CTX, written, imported;
                                                    prior_lower = [0.0, 0.0])
        @test_throws ArgumentError posterior_import(CTX, written, imported; no_such_option = 1)
        # A normal prior has no bound: no theta lies outside it.
        r = posterior_training_set_write(CTX, theta, x, imported;
                                         prior = Dict("kind" => "normal", "mean" => [0.5, 0.5],
                                                      "std" => [1, 1]))
        @test (r.rows_written, r.rows_outside_prior) == (39, 0)
        @test_throws DimensionMismatch posterior_training_set_write(CTX, theta, x[:, 2:end],
                                                                    imported)
    end

    @testset "merger" begin
        mm = MANIFEST["merger"]
        model = load_model(CTX, joinpath(REF, mm["model"]); family = "merger")
        c = mm["classify"]
        images, _ = reference(c["images"])
        @test size(images) == (c["width"], c["height"], c["channels"], c["n"])
        out = merger_classify(model, images; resize = c["resize"] != 0)
        @test bytes_of(out.probs) == reference(c["probs"])[2]
        @test bytes_of(out.classes) == reference(c["classes"])[2]
        @test bytes_of(out.time_myr) == reference(c["time_myr"])[2]
        @test bytes_of(out.flags) == reference(c["flags"])[2]
        if c["latent"] === nothing
            @test out.latent === nothing
        else
            @test bytes_of(out.latent) == reference(c["latent"])[2]
        end
        # [n, channels, height, width] given as if Julia were row-major.
        @test_throws DimensionMismatch merger_classify(model, permutedims(images, (4, 3, 2, 1)))
        close(model)
    end

    if haskey(MANIFEST, "diffusion")
        @testset "diffusion" begin
            d = MANIFEST["diffusion"]
            t = d["txt2img"]
            model = load_model(CTX, d["model"]; family = "diffusion")
            images = diffusion_txt2img(model, t["prompt"]; negative_prompt = t["negative_prompt"],
                                       n_per_prompt = t["n"], height = t["height"],
                                       width = t["width"], steps = t["steps"],
                                       scheduler = t["scheduler"], guidance = t["guidance"],
                                       seed = t["seed"])
            expected, expected_bytes = reference(t["images"])
            @test size(images) == size(expected)
            @test bytes_of(images) == expected_bytes
            close(model)
        end
    end

    @testset "callbacks" begin
        ctx = Context(device = "cpu", seed = 5)
        reports = Progress[]
        set_progress!(p -> (push!(reports, p); nothing), ctx)
        @test isfinite(selftest(ctx; n_steps = 4))
        @test !isempty(reports)
        @test all(r -> r.total == 0 || r.done <= r.total, reports)

        # A sink that returns false stops the call.
        set_progress!(p -> false, ctx)
        err = caught(() -> selftest(ctx; n_steps = 4))
        @test err isa GalaxymlError && err.status == "GML_ERR_CANCELLED"

        # An exception in the sink never reaches C; the call rethrows it.
        set_progress!(p -> error("sink failed"), ctx)
        err = caught(() -> selftest(ctx; n_steps = 4))
        @test err isa CapturedException && occursin("sink failed", sprint(showerror, err.ex))
        set_progress!(ctx, nothing)
        @test isfinite(selftest(ctx; n_steps = 2))

        # A Julia forward model through gml_simulator_fn: x = (t1 + t2, t1 - t2, 2 t1).
        path = joinpath(mktempdir(), "training_set.h5")
        calls = Ref(0)
        simulator = function (theta)
            calls[] += 1
            return vcat(theta[1:1, :] .+ theta[2:2, :], theta[1:1, :] .- theta[2:2, :],
                        2 .* theta[1:1, :])
        end
        posterior_simulate(simulator, ctx, path, [0.0, -1.0], [1.0, 1.0], 3, 10; batch_size = 4,
                           seed = 9)
        @test calls[] == 3
        @test posterior_training_set_info(path) == (2, 3, 10)
        # A simulator returning the wrong shape fails the call with its error.
        err = caught(() -> posterior_simulate(theta -> zeros(2, size(theta, 2)), ctx,
                                              joinpath(mktempdir(), "bad.h5"), [0.0], [1.0], 3, 4))
        @test err isa CapturedException && err.ex isa DimensionMismatch
        close(ctx)
        @test_throws ArgumentError device(ctx)
    end

    @testset "tables, catalogs, WCS" begin
        path = joinpath(mktempdir(), "results.fits")
        w = TableWriter(path; extname = "RESULTS", checksum = false)
        add_column!(w, "ID", Int64)
        add_column!(w, "FLUX", Float32, 3; unit = "nanomaggy")
        add_column!(w, "NAME", String, 8)
        set_keyword!(w, "SURVEY", "test")
        flux = Float32[0 3 6 9; 1 4 7 10; 2 5 8 11]
        append_rows!(w, Int64[10, 11, 12, 13], flux, ["aaaaaaaa", "bb", "c", "d"])
        @test nrows(w) == 4
        @test_throws DimensionMismatch append_rows!(w, Int64[1], permutedims(flux[:, 1:1]), ["x"])
        commit!(w)
        close(w)

        cat = catalog_open(path)
        @test nrows(cat) == 4
        @test occursin("FLUX", columns_json(cat))
        values, flags = catalog_read(cat, "id=ID,f1=FLUX[1]")
        @test values == Float32[10 11 12 13; 1 4 7 10]
        @test flags == zeros(Int32, 4)
        values, flags = catalog_read(cat, "m=mag(FLUX[0])"; eltype = Float64)
        @test isnan(values[1, 1]) && flags[1] == GalaxyML.LibGalaxyML.GML_ROW_BAD_FLUX
        seen = Int64[]
        catalog_stream(cat, "id=ID"; chunk_rows = 3) do first_row, v, fl
            append!(seen, Int64.(vec(v)))
            return nothing
        end
        @test seen == [10, 11, 12, 13]
        err = caught(() -> catalog_read(cat, "x=NO_SUCH_COLUMN"))
        @test err isa GalaxymlError && err.status == "GML_ERR_NOT_FOUND"
        close(cat)

        cards = ["NAXIS   = 2", "NAXIS1  = 100", "NAXIS2  = 100", "CTYPE1  = 'RA---TAN'",
                 "CTYPE2  = 'DEC--TAN'", "CRVAL1  = 150.0", "CRVAL2  = 2.0", "CRPIX1  = 50.5",
                 "CRPIX2  = 50.5", "CD1_1   = -0.0001", "CD1_2   = 0.0", "CD2_1   = 0.0",
                 "CD2_2   = 0.0001", "END"]
        wcs = wcs_from_header(join(rpad.(cards, 80)))
        ra, dec, status = pix2sky(wcs, [49.5, 10.0], [49.5, 80.0])
        @test ra[1] ≈ 150.0 && dec[1] ≈ 2.0 && status == Int32[0, 0]
        x, y, _ = sky2pix(wcs, ra, dec)
        @test isapprox(x, [49.5, 10.0]; atol = 1e-8) && isapprox(y, [49.5, 80.0]; atol = 1e-8)
        @test pixel_scale(wcs) ≈ 0.36
        @test_throws DimensionMismatch pix2sky(wcs, [1.0, 2.0], [1.0])
        close(wcs)
    end
end
