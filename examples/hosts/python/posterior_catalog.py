#!/usr/bin/env python3
"""Survey pipeline: posterior summaries for every row of a FITS catalog.

Streams the catalog through a column mapping in blocks of bounded memory,
summarises the posterior of each clean row (median, 16th/84th percentiles),
and writes one result row per input row, with provenance, to a FITS table
that appears only when complete. Ctrl-C stops the running block cleanly.

    posterior_catalog.py --model posterior.h5 --catalog gst.fits \
        --mapping "X0,X1,X2,X3" --out results.fits [--samples 1000] [--seed 3]
"""
import argparse
import sys

import numpy as np

import galaxyml


def run(model_path, catalog_path, mapping, out_path, n_samples=1000, seed=3, chunk_rows=4096,
        device="cpu"):
    with galaxyml.Context(device=device, seed=seed) as ctx, \
            ctx.load_model(model_path, family="posterior") as model, \
            galaxyml.Catalog(catalog_path) as catalog:
        theta_dim, x_dim = model.dims
        # Training sets made without theta_names carry no labels.
        labels = model.describe()["theta"] or [f"THETA{k}" for k in range(theta_dim)]
        if len(catalog.describe_mapping(mapping)) != x_dim:
            raise SystemExit(f"the mapping must give the model's {x_dim} inputs")
        info = galaxyml.inspect_model(model_path)
        with galaxyml.TableWriter(out_path, input_file=str(catalog_path),
                                  command_line=" ".join(sys.argv),
                                  model_checksum=info.checksum) as out:
            out.add_column("ROW", galaxyml.COLUMN_INT64)
            out.add_column("FLAGS", galaxyml.COLUMN_INT32)
            for name in labels:
                out.add_column(f"{name}_MEDIAN", galaxyml.COLUMN_FLOAT64)
                out.add_column(f"{name}_ERR", galaxyml.COLUMN_FLOAT64, repeat=2)

            def block(first_row, x, flags):
                summary = np.full((x.shape[0], theta_dim, galaxyml.SUMMARY_COLUMNS), np.nan)
                clean = flags == 0
                if clean.any():
                    # summarize() numbers a block's rows from 0: offsetting
                    # the seed by the block's first row keeps blocks apart.
                    summary[clean] = model.summarize(x[clean], n_samples, seed=seed + first_row)
                med = summary[:, :, galaxyml.SUMMARY_MEDIAN]
                lo = med - summary[:, :, galaxyml.SUMMARY_P16]
                hi = summary[:, :, galaxyml.SUMMARY_P84] - med
                columns = [np.arange(first_row, first_row + x.shape[0]), flags]
                for k in range(theta_dim):
                    columns += [med[:, k], np.column_stack([lo[:, k], hi[:, k]])]
                out.append(*columns)

            catalog.stream(mapping, block, chunk_rows=chunk_rows, context=ctx)
            out.commit()
            return out.n_rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--mapping", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--chunk-rows", type=int, default=4096)
    a = ap.parse_args()
    n = run(a.model, a.catalog, a.mapping, a.out, a.samples, a.seed, a.chunk_rows)
    print(f"{n} rows -> {a.out}")


if __name__ == "__main__":
    main()
