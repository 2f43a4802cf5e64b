# A small JSON reader for the reference manifest, so that the tests need
# nothing outside Julia's standard library. Objects become Dict{String,Any},
# arrays Vector{Any}, integers Int64, other numbers Float64, null nothing.
module MiniJSON

struct Reader
    text::String
    pos::Base.RefValue{Int}
end

peek(r::Reader) = r.pos[] <= ncodeunits(r.text) ? r.text[r.pos[]] : '\0'
advance!(r::Reader) = (r.pos[] = nextind(r.text, r.pos[]); nothing)

function skip_space!(r::Reader)
    while peek(r) in (' ', '\t', '\n', '\r')
        advance!(r)
    end
end

function expect!(r::Reader, c::Char)
    peek(r) == c || error("JSON: expected '$(c)' at byte $(r.pos[]), found '$(peek(r))'")
    advance!(r)
end

function parse(text::AbstractString)
    r = Reader(String(text), Ref(1))
    v = value!(r)
    skip_space!(r)
    r.pos[] > ncodeunits(r.text) || error("JSON: trailing text at byte $(r.pos[])")
    return v
end

function value!(r::Reader)
    skip_space!(r)
    c = peek(r)
    c == '{' && return object!(r)
    c == '[' && return array!(r)
    c == '"' && return string!(r)
    (c == '-' || isdigit(c)) && return number!(r)
    for (word, v) in (("true", true), ("false", false), ("null", nothing))
        if startswith(SubString(r.text, r.pos[]), word)
            r.pos[] += length(word)
            return v
        end
    end
    error("JSON: unexpected '$(c)' at byte $(r.pos[])")
end

function object!(r::Reader)
    expect!(r, '{')
    d = Dict{String,Any}()
    skip_space!(r)
    peek(r) == '}' && (advance!(r); return d)
    while true
        skip_space!(r)
        k = string!(r)
        skip_space!(r)
        expect!(r, ':')
        d[k] = value!(r)
        skip_space!(r)
        peek(r) == '}' && (advance!(r); return d)
        expect!(r, ',')
    end
end

function array!(r::Reader)
    expect!(r, '[')
    a = Any[]
    skip_space!(r)
    peek(r) == ']' && (advance!(r); return a)
    while true
        push!(a, value!(r))
        skip_space!(r)
        peek(r) == ']' && (advance!(r); return a)
        expect!(r, ',')
    end
end

function string!(r::Reader)
    expect!(r, '"')
    io = IOBuffer()
    while true
        c = peek(r)
        c == '\0' && error("JSON: unterminated string")
        advance!(r)
        c == '"' && return String(take!(io))
        if c == '\\'
            e = peek(r)
            advance!(r)
            if e == 'u'
                hex = SubString(r.text, r.pos[], r.pos[] + 3)
                r.pos[] += 4
                print(io, Char(Base.parse(UInt16, hex; base = 16)))
            else
                print(io, get(Dict('n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b',
                                   'f' => '\f'), e, e))
            end
        else
            print(io, c)
        end
    end
end

function number!(r::Reader)
    start = r.pos[]
    while peek(r) in ('-', '+', '.', 'e', 'E') || isdigit(peek(r))
        advance!(r)
    end
    s = SubString(r.text, start, r.pos[] - 1)
    n = tryparse(Int64, s)
    return n === nothing ? Base.parse(Float64, s) : n
end

end # module MiniJSON
