#!/usr/bin/env python3
"""Writes tests/robustness/robustness_calls.c from the public headers.

Every GML_API function of capi/include/galaxyml/*.h gets a baseline call with
valid arguments drawn from the harness fixture (robustness.h), and one call
per mutated argument:

  - NULL for every pointer; "" for every path;
  - 0, -1 and INT64_MAX (INT32_MAX) for every count; 0, SIZE_MAX / 2 and
    SIZE_MAX for every size_t; -1 and INT64_MAX for ids; the invalid values
    listed below for enum-like parameters;
  - a live handle of another type for every handle, and a model of every
    other family for a family's model;
  - all-NaN arrays for floating-point inputs; struct_size 0 for option,
    request, result and report structs.

What a mutation must give is derived from the parameter's kind, and from the
tables below where the header documents more (a NULL that is allowed, a
minimum count, an enum's valid values). A parameter whose kind cannot be
derived, or whose baseline value is unknown, stops the generator: a new
function has to be described here before it can ship.

Usage: gen_robustness_calls.py [--check] [REPO_ROOT]
  --check  compare with the committed file instead of writing it.
The output is passed through clang-format (the repository's .clang-format).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

HEADERS = ["galaxyml.h", "flow.h", "posterior.h", "merger.h", "diffusion.h"]

HANDLES = ["gml_context", "gml_model", "gml_wcs", "gml_catalog", "gml_table_writer"]

# A live handle of another type for each handle type: the header promises
# that a handle of another type is refused without being dereferenced.
WRONG_TYPE = {
    "gml_context": ("fx->wcs", "a gml_wcs"),
    "gml_model": ("fx->ctx", "a gml_context"),
    "gml_wcs": ("fx->catalog", "a gml_catalog"),
    "gml_catalog": ("fx->wcs", "a gml_wcs"),
    "gml_table_writer": ("fx->catalog", "a gml_catalog"),
}

FAMILIES = ["flow", "posterior", "merger", "diffusion"]

CALLBACKS = {
    "gml_progress_fn": "robustness_progress",
    "gml_catalog_chunk_fn": "robustness_chunk",
    "gml_simulator_fn": "robustness_simulator",
}

# Scratch buffers per element type in the fixture (ROBUSTNESS_BUFFERS).
BUFFERS = 6

OUTPUT_BUFFERS = {
    "float": "f32",
    "double": "f64",
    "int32_t": "i32",
    "int64_t": "i64",
    "uint8_t": "u8",
    "size_t": "sz",
}

INTEGERS = {"int32_t", "int64_t", "uint32_t", "uint64_t", "gml_status", "char"}

OVERFLOW = {"int64_t": "INT64_MAX", "int32_t": "INT32_MAX"}

# Integer parameters that are ids or switches rather than sizes.
IDS = {"galaxy_id"}
FLAGS = {"resize", "restore_mean"}
ENUMS = {"origin", "type", "status", "alt"}

STRUCT_SUFFIXES = ("_options", "_info", "_report", "_request", "_result")

INVALID = "GML_ERR_INVALID_ARGUMENT"

# Per-function description. Keys:
#   args      baseline value of a parameter (a C expression; fx is the
#             fixture); parameters left out get the default of their kind.
#   nullable  parameters the header allows to be NULL: "ok" (must succeed),
#             "cancel" (NULL selects default work far beyond a test, so the
#             context is cancelled first and any clean status is accepted).
#   minimum   the smallest valid count (default 0); a 0 below it must be
#             GML_ERR_INVALID_ARGUMENT.
#   enums     invalid values of an enum-like parameter: (C value, label,
#             expectation).
#   nan       expectation for an all-NaN input (default "clean").
#   expect    expectation of one mutation, (parameter, label) -> expectation,
#             where the header documents something else than the default.
#   extra     further cases: (parameter, label, C statements, expectation).
#   flags     case flags of one mutation, (parameter, label) -> C flags.
#   findings  known library defects: (parameter, label) -> description;
#             the runner reports them as KNOWN until they pass.
#   timeouts  seconds for a known hang, (parameter, label) -> seconds.
# Expectations: "ok", "clean", "fail", "reject", "return", or a status name.
FUNCTIONS = {
    "gml_status_name": {
        "args": {"status": "GML_OK"},
        "enums": {
            "status": [
                ("-1", "-1", "return"),
                ("INT32_MAX", "INT32_MAX", "return"),
                ("INT32_MIN", "INT32_MIN", "return"),
            ]
        },
    },
    "gml_last_error": {},
    "gml_clear_error": {},
    "gml_abi_version": {},
    "gml_version_string": {},
    "gml_build_info": {},
    # No function hands out memory yet, so gml_free() only has NULL to free:
    # the baseline is the documented no-op.
    "gml_free": {"args": {"ptr": "NULL"}},
    "gml_init_options_default": {},
    "gml_init": {"nullable": {"opts": "ok"}},
    "gml_num_threads": {},
    "gml_context_options_default": {},
    "gml_context_create": {"nullable": {"opts": "ok"}},
    "gml_context_free": {"args": {"ctx": "robustness_new_context(fx)"}},
    "gml_context_device": {},
    "gml_context_rank": {"nullable": {"rank": "ok", "size": "ok"}},
    "gml_context_set_progress": {"nullable": {"fn": "ok"}},
    "gml_cancel": {},
    "gml_cancel_reset": {},
    "gml_context_selftest": {
        "args": {"n_steps": "3"},
        "minimum": {"n_steps": 1},
        "nullable": {"checksum": "ok"},
        # n_steps counts work, not memory: INT64_MAX steps is a valid, endless
        # request, which must allocate nothing for n_steps and stop when
        # cancelled.
        "expect": {("n_steps", "INT64_MAX"): "clean"},
        "flags": {("n_steps", "INT64_MAX"): "ROBUSTNESS_CANCEL_FIRST"},
    },
    "gml_model_file_inspect": {
        "args": {"path": "fx->model_file", "expected_family": '"flow"'},
        "nullable": {"expected_family": "ok", "info": "ok"},
        "extra": [
            ("expected_family", '"posterior"', 'expected_family = "posterior";', "GML_ERR_FAMILY"),
        ],
    },
    "gml_model_file_config": {"args": {"path": "fx->model_file"}},
    "gml_model_load": {
        "args": {"path": "fx->flow_model_path", "expected_family": '"flow"'},
        "nullable": {"expected_family": "ok"},
        "extra": [
            ("expected_family", '"merger"', 'expected_family = "merger";', "GML_ERR_FAMILY"),
        ],
    },
    "gml_model_free": {"args": {"model": "robustness_new_model(fx)"}},
    "gml_model_family": {"args": {"model": "fx->flow"}},
    "gml_wcs_open": {
        "args": {"path": "fx->image_path", "hdu": '"0"'},
        "nullable": {"hdu": "ok"},
        "extra": [("hdu", '""', 'hdu = "";', INVALID)],
    },
    "gml_wcs_open_header": {
        "args": {"header": "fx->wcs_header", "length": "fx->wcs_header_length"},
        # The length is the size of the caller's header: 0 and lengths that
        # are no multiple of 80 (both overflowing values) are documented
        # errors.
        "expect": {
            ("length", "0"): INVALID,
            ("length", "SIZE_MAX / 2"): INVALID,
            ("length", "SIZE_MAX"): INVALID,
        },
    },
    "gml_wcs_free": {"args": {"wcs": "robustness_new_wcs(fx)"}},
    "gml_wcs_pix2sky": {
        "args": {"x": "fx->pixel_x", "y": "fx->pixel_y", "n": "2", "origin": "0"},
        "nullable": {"status": "ok"},
        "enums": {"origin": [("-1", "-1", INVALID), ("2", "2", INVALID)]},
        # Bad points do not fail the batch: their outputs are NaN.
        "nan": {"x": "ok", "y": "ok"},
    },
    "gml_wcs_sky2pix": {
        "args": {"ra": "fx->sky_ra", "dec": "fx->sky_dec", "n": "2", "origin": "0"},
        "nullable": {"status": "ok"},
        "enums": {"origin": [("-1", "-1", INVALID), ("2", "2", INVALID)]},
        "nan": {"ra": "ok", "dec": "ok"},
    },
    "gml_wcs_pixel_scale": {},
    "gml_wcs_header": {},
    "gml_wcs_open_alternate": {
        "args": {"path": "fx->image_path", "hdu": '"0"', "alt": "' '"},
        "nullable": {"hdu": "ok"},
        "enums": {
            "alt": [
                ("'a'", "'a'", INVALID),
                ("'1'", "'1'", INVALID),
                ("'Q'", "'Q' (absent)", "GML_ERR_WCS"),
            ]
        },
    },
    "gml_wcs_open_header_alternate": {
        "args": {"header": "fx->wcs_header", "length": "fx->wcs_header_length", "alt": "' '"},
        "enums": {
            "alt": [
                ("'a'", "'a'", INVALID),
                ("'1'", "'1'", INVALID),
                ("'Q'", "'Q' (absent)", "GML_ERR_WCS"),
            ]
        },
        "expect": {
            ("length", "0"): INVALID,
            ("length", "SIZE_MAX / 2"): INVALID,
            ("length", "SIZE_MAX"): INVALID,
        },
    },
    "gml_catalog_open": {
        "args": {"path": "fx->catalog_path", "hdu": '"GSTTEST"'},
        "nullable": {"hdu": "ok"},
    },
    "gml_catalog_free": {"args": {"cat": "robustness_new_catalog(fx)"}},
    "gml_catalog_num_rows": {},
    "gml_catalog_columns_json": {},
    "gml_catalog_describe_mapping": {"args": {"mapping": '"a=Z,b=mag(MODELFLUX[2])"'}},
    "gml_catalog_read": {
        "args": {"mapping": '"a=Z,b=mag(MODELFLUX[2])"', "first_row": "1", "n_rows": "3"},
        "nullable": {"flags": "ok", "n_outputs": "ok"},
        "extra": [("out", "NULL, capacity 0 (query)", "out = NULL;\ncapacity = 0;", "ok")],
    },
    "gml_catalog_read_f64": {
        "args": {"mapping": '"a=RA,b=DEC"', "first_row": "1", "n_rows": "3"},
        "nullable": {"flags": "ok", "n_outputs": "ok"},
        "extra": [("out", "NULL, capacity 0 (query)", "out = NULL;\ncapacity = 0;", "ok")],
    },
    "gml_catalog_stream": {
        "args": {"mapping": '"a=Z"', "first_row": "1", "n_rows": "3", "chunk_rows": "2"},
        "nullable": {"ctx": "ok"},
        # n_rows -1 streams to the end of the table; a block larger than the
        # table is one block.
        "expect": {("n_rows", "-1"): "ok", ("chunk_rows", "INT64_MAX"): "clean"},
    },
    "gml_table_writer_options_default": {},
    "gml_table_writer_create": {
        "args": {"path": "fx->out_fits"},
        "nullable": {"opts": "ok"},
    },
    "gml_table_writer_add_column": {
        "args": {
            "w": "robustness_new_writer(fx, 0)",
            "name": '"MASS"',
            "type": "GML_COLUMN_FLOAT64",
            "repeat": "1",
            "unit": '"dex"',
        },
        "nullable": {"unit": "ok"},
        "minimum": {"repeat": 1},
        "enums": {"type": [("0", "0", INVALID), ("99", "99", INVALID)]},
        "extra": [("name", '""', 'name = "";', INVALID)],
    },
    "gml_table_writer_set_keyword": {
        "args": {
            "w": "robustness_new_writer(fx, 1)",
            "key": '"SURVEY"',
            "value": '"SDSS DR7"',
            "comment": '"origin of the rows"',
        },
        "nullable": {"comment": "ok"},
        "extra": [("key", '"NAXIS2" (reserved)', 'key = "NAXIS2";', INVALID)],
    },
    "gml_table_writer_append": {
        "args": {"w": "robustness_new_writer(fx, 1)", "n_rows": "2", "data": "fx->writer_data"},
    },
    "gml_table_writer_num_rows": {"args": {"w": "robustness_new_writer(fx, 1)"}},
    "gml_table_writer_commit": {"args": {"w": "robustness_new_writer(fx, 1)"}},
    "gml_table_writer_free": {"args": {"w": "robustness_new_writer(fx, 1)"}},
    "gml_cutout_options_default": {},
    "gml_cutouts_shape": {
        "args": {"n_bands": "1"},
        "minimum": {"n_bands": 1},
        "nullable": {"opts": "ok"},
    },
    "gml_cutouts_extract": {
        "args": {"n_bands": "1", "ra": "fx->sky_ra", "dec": "fx->sky_dec", "n": "2"},
        "minimum": {"n_bands": 1},
        "nullable": {"ctx": "ok", "opts": "ok", "mask": "ok", "flags": "ok"},
        # A bad position is a flagged, filled stamp, never an error.
        "nan": {"ra": "ok", "dec": "ok"},
    },
    "gml_cutouts_write": {
        "args": {
            "n_bands": "1",
            "ra": "fx->sky_ra",
            "dec": "fx->sky_dec",
            "n": "2",
            "output_path": "fx->out_fits",
        },
        "minimum": {"n_bands": 1, "n": 1},
        "nullable": {"ctx": "ok", "opts": "ok", "flags": "ok"},
        "nan": {"ra": "ok", "dec": "ok"},
    },
    "gml_cutouts_read_shape": {"args": {"path": "fx->image_path"}},
    "gml_cutouts_read": {
        "args": {"path": "fx->image_path"},
    },
    # flow.h
    "gml_flow_dims": {"nullable": {"data_dim": "ok", "condition_dim": "ok"}},
    "gml_flow_describe": {},
    "gml_flow_sample": {
        "args": {"conditions": "fx->flow_conditions", "n_galaxies": "1", "n_per_galaxy": "4"},
        "minimum": {"n_galaxies": 1},
        "nullable": {"outside": "ok"},
        "nan": {"conditions": INVALID},
    },
    "gml_flow_sample_to_file": {
        "args": {
            "conditions": "fx->flow_conditions",
            "n_galaxies": "1",
            "n_per_galaxy": "4",
            "path": "fx->out_h5",
        },
        "minimum": {"n_galaxies": 1},
        "nan": {"conditions": INVALID},
    },
    "gml_flow_log_prob": {
        "args": {
            "stars": "fx->flow_stars",
            "n": "2",
            "conditions": "fx->flow_conditions",
            "n_conditions": "1",
        },
        "minimum": {"n_conditions": 1},
        "nan": {"stars": INVALID, "conditions": INVALID},
    },
    "gml_flow_train_options_default": {},
    "gml_flow_train": {
        "args": {"stars_path": "fx->stars_path", "model_path": "fx->out_model"},
        "nullable": {"opts": "cancel"},
    },
    "gml_flow_read_galaxy": {
        "args": {"path": "fx->stars_path", "galaxy_id": "0"},
        "nullable": {"n_stars": "ok", "data_dim": "ok", "conditions": "ok"},
        "extra": [
            ("stars", "NULL, capacity 0 (query)", "stars = NULL;\ncapacity = 0;", "ok"),
        ],
    },
    "gml_flow_evaluate": {
        "args": {"stars_path": "fx->stars_path", "galaxy_id": "0", "n_samples": "20"},
        "minimum": {"n_samples": 2},
        "nullable": {"n_galaxies": "ok"},
        "extra": [
            (
                "galaxy_ids",
                "NULL, NULL, NULL, capacity 0 (query)",
                "galaxy_ids = NULL;\ndelta_log_mass = NULL;\nmmd = NULL;\ncapacity = 0;",
                "ok",
            ),
        ],
    },
    "gml_flow_simulate": {
        "args": {
            "n_galaxies": "1",
            "n_stars": "10",
            "conditions": "fx->flow_conditions",
            "path": "fx->out_h5",
        },
        "minimum": {"n_galaxies": 1, "n_stars": 1},
        "nullable": {"conditions": "ok"},
        "nan": {"conditions": INVALID},
    },
    # posterior.h
    "gml_posterior_simulate_options_default": {},
    "gml_posterior_simulate": {
        "args": {
            "theta_dim": "2",
            "x_dim": "2",
            "prior_lower": "fx->prior_lower",
            "prior_upper": "fx->prior_upper",
            "n": "20",
            "path": "fx->out_h5",
        },
        "minimum": {"theta_dim": 1, "x_dim": 1, "n": 1},
        "nullable": {"user": "ok", "opts": "ok"},
        "nan": {"prior_lower": INVALID, "prior_upper": INVALID},
    },
    "gml_posterior_simulate_sed": {
        "args": {"data_dir": "fx->data_dir", "n": "5", "path": "fx->out_h5"},
        "minimum": {"n": 1},
        "nullable": {"data_dir": "ok", "opts": "ok"},
    },
    "gml_posterior_training_set_info": {
        "args": {"path": "fx->training_set_path"},
        "nullable": {"theta_dim": "ok", "x_dim": "ok", "rows": "ok"},
    },
    "gml_posterior_train_options_default": {},
    "gml_posterior_train": {
        "args": {"training_set_path": "fx->training_set_path", "model_path": "fx->out_model"},
        "nullable": {"opts": "cancel"},
    },
    "gml_posterior_dims": {"nullable": {"theta_dim": "ok", "x_dim": "ok"}},
    "gml_posterior_describe": {},
    "gml_posterior_sample": {
        "args": {"x": "fx->posterior_x", "n_obs": "2", "n_samples": "5"},
        "minimum": {"n_obs": 1, "n_samples": 1},
        "nullable": {"n_outside": "ok"},
        "nan": {"x": INVALID},
    },
    "gml_posterior_sample_to_file": {
        "args": {"x": "fx->posterior_x", "n_obs": "2", "n_samples": "5", "path": "fx->out_h5"},
        "minimum": {"n_obs": 1, "n_samples": 1},
        "nan": {"x": INVALID},
    },
    "gml_posterior_sample_options_default": {},
    "gml_posterior_draw": {
        "args": {"x": "fx->posterior_x", "n_obs": "2", "n_samples": "5"},
        "minimum": {"n_obs": 1, "n_samples": 1},
        "nullable": {"opts": "ok", "n_accepted": "ok", "n_proposed": "ok"},
        "nan": {"x": INVALID},
    },
    "gml_posterior_draw_to_file": {
        "args": {"x": "fx->posterior_x", "n_obs": "2", "n_samples": "5", "path": "fx->out_h5"},
        "minimum": {"n_obs": 1, "n_samples": 1},
        "nullable": {"opts": "ok"},
        "nan": {"x": INVALID},
    },
    "gml_posterior_import_options_default": {},
    "gml_posterior_training_set_write": {
        "args": {
            "theta": "fx->posterior_theta",
            "x": "fx->posterior_x",
            "n": "2",
            "theta_dim": "2",
            "x_dim": "2",
            "path": "fx->out_h5",
        },
        "minimum": {"n": 1, "theta_dim": 1, "x_dim": 1},
        "nullable": {"opts": "ok", "report": "ok"},
        # Non-finite rows are dropped; when every row is, nothing is left.
        "nan": {"theta": INVALID, "x": INVALID},
    },
    "gml_posterior_import": {
        "args": {"theta_path": "fx->training_set_path", "x_path": "NULL", "path": "fx->out_h5"},
        "nullable": {"x_path": "ok", "opts": "ok", "report": "ok"},
    },
    "gml_posterior_log_prob": {
        "args": {"theta": "fx->posterior_theta", "n": "2", "x": "fx->posterior_x", "n_x": "1"},
        "minimum": {"n_x": 1},
        "nan": {"theta": INVALID, "x": INVALID},
    },
    "gml_posterior_summarize": {
        "args": {"x": "fx->posterior_x", "n_obs": "2", "n_samples": "5"},
        "minimum": {"n_obs": 1, "n_samples": 1},
        "nullable": {"n_outside": "ok"},
        "nan": {"x": INVALID},
    },
    "gml_posterior_run_options_default": {},
    "gml_posterior_run_catalog": {
        "args": {
            "catalog_path": "fx->catalog_path",
            "mapping": '"a=Z,b=Z"',
            "out_path": "fx->out_fits",
        },
        "nullable": {"opts": "cancel"},
    },
    "gml_posterior_diagnose": {
        "args": {
            "simulations_path": "fx->training_set_path",
            "first_row": "1",
            "n_sims": "10",
            "n_samples": "10",
            "levels": "4",
        },
        "minimum": {"n_sims": 2, "n_samples": 2, "levels": 1},
        "nullable": {"ranks": "ok", "coverage": "ok", "tarp_ecp": "ok", "tarp_summary": "ok"},
    },
    "gml_posterior_diagnose_batch": {},
    # merger.h
    "gml_merger_simulate_options_default": {},
    "gml_merger_simulate": {
        "args": {"out_path": "fx->out_fits"},
        "nullable": {"opts": "cancel", "n_images": "ok"},
    },
    "gml_merger_train_options_default": {},
    "gml_merger_train": {
        "args": {"data_path": "fx->merger_images_path", "model_path": "fx->out_model"},
        "nullable": {"opts": "cancel", "report": "ok"},
    },
    "gml_merger_dims": {
        "nullable": {"in_channels": "ok", "image_size": "ok", "n_classes": "ok", "latent_dim": "ok"}
    },
    "gml_merger_classify": {
        "args": {
            "images": "fx->merger_images",
            "n": "2",
            "channels": "1",
            "height": "ROBUSTNESS_MERGER_SIZE",
            "width": "ROBUSTNESS_MERGER_SIZE",
            "resize": "0",
        },
        # The size must be the model's without resize; one band.
        "minimum": {"n": 1, "channels": 1, "height": 1, "width": 1},
        "nullable": {
            "probs": "ok",
            "classes": "ok",
            "time_myr": "ok",
            "latent": "ok",
            "flags": "ok",
        },
        "nan": {"images": INVALID},
    },
    "gml_merger_encode": {
        "args": {
            "images": "fx->merger_images",
            "n": "2",
            "channels": "1",
            "height": "ROBUSTNESS_MERGER_SIZE",
            "width": "ROBUSTNESS_MERGER_SIZE",
            "resize": "0",
        },
        "minimum": {"n": 1, "channels": 1, "height": 1, "width": 1},
        "nullable": {"flags": "ok"},
        "nan": {"images": INVALID},
    },
    "gml_merger_index_build": {
        "args": {
            "images_path": "fx->merger_images_path",
            "resize": "0",
            "index_path": "fx->out_h5",
        },
        "nullable": {"n_indexed": "ok"},
    },
    "gml_merger_index_info": {
        "args": {"index_path": "fx->index_path"},
        "nullable": {"n_entries": "ok", "latent_dim": "ok"},
    },
    "gml_merger_search": {
        "args": {
            "index_path": "fx->index_path",
            "images": "fx->merger_images",
            "n": "2",
            "channels": "1",
            "height": "ROBUSTNESS_MERGER_SIZE",
            "width": "ROBUSTNESS_MERGER_SIZE",
            "resize": "0",
            "k": "3",
        },
        "minimum": {"n": 1, "channels": 1, "height": 1, "width": 1, "k": 1},
        "nullable": {
            "rows": "ok",
            "ids": "ok",
            "distances": "ok",
            "ssim": "ok",
            "sim_id": "ok",
            "time_class": "ok",
        },
        "nan": {"images": INVALID},
    },
    "gml_merger_cluster": {
        "args": {"index_path": "fx->index_path", "n_clusters": "2", "n_neighbours": "5"},
        "minimum": {"n_clusters": 2, "n_neighbours": 1},
        "nullable": {"eigenvalues": "ok"},
        # A graph degree above the index size is the complete graph.
        "expect": {("n_neighbours", "INT64_MAX"): "clean"},
    },
    "gml_merger_classify_batch": {},
    "gml_merger_search_batch": {},
    # diffusion.h
    "gml_diffusion_options_default": {},
    "gml_diffusion_image_shape": {
        "args": {"n_prompts": "1"},
        "minimum": {"n_prompts": 1},
        "nullable": {"opts": "ok"},
    },
    "gml_diffusion_txt2img": {
        "args": {"prompts": "fx->diffusion_prompts", "n_prompts": "1"},
        "minimum": {"n_prompts": 1},
        # NULL options: the defaults, 40 steps at the tiny model's size.
        "nullable": {"opts": "ok"},
    },
    "gml_diffusion_img2img": {
        "args": {
            "prompts": "fx->diffusion_prompts",
            "n_prompts": "1",
            "reference": "fx->diffusion_reference",
            "n_reference": "1",
            "channels": "3",
            "height": "ROBUSTNESS_DIFFUSION_SIZE",
            "width": "ROBUSTNESS_DIFFUSION_SIZE",
        },
        "minimum": {"n_prompts": 1, "n_reference": 1, "channels": 1, "height": 1, "width": 1},
        "nullable": {"opts": "cancel"},
        "nan": {"reference": INVALID},
    },
    "gml_diffusion_tokenize": {
        "args": {"prompt": '"a {barred:1.2} spiral galaxy"'},
        "nullable": {"ids": "ok", "weights": "ok"},
        "extra": [
            ("prompt", "unclosed brace", 'prompt = "a {barred spiral";', INVALID),
        ],
    },
    "gml_diffusion_encode_prompt": {
        "args": {"prompt": '"a {barred:1.2} spiral galaxy"', "restore_mean": "1"},
        "nullable": {"embedding": "ok", "n_tokens": "ok", "width": "ok"},
    },
    "gml_diffusion_convert": {
        "args": {"diffusers_dir": "fx->diffusion_dir", "out_path": "fx->out_model"},
        "extra": [
            ("diffusers_dir", "a part folder", 'diffusers_dir = fx->data_dir;', "GML_ERR_NOT_FOUND"),
        ],
    },
    "gml_diffusion_describe": {},
    "gml_diffusion_procedural_options_default": {},
    "gml_diffusion_procedural_galaxies": {
        "args": {"tags": '"disk, spiral, bar"', "n_galaxies": "2", "out_path": "fx->out_fits"},
        "minimum": {"n_galaxies": 1},
        "nullable": {"tags": "ok", "opts": "ok"},
        "extra": [
            ("tags", "an unknown tag", 'tags = "disk, spirall";', INVALID),
            ("tags", "tags that exclude each other", 'tags = "smooth, bar";', INVALID),
        ],
    },
}

EXPECT_CODES = {
    "ok": "ROBUSTNESS_EXPECT_OK",
    "reject": "ROBUSTNESS_EXPECT_REJECT",
    "fail": "ROBUSTNESS_EXPECT_FAIL",
    "clean": "ROBUSTNESS_EXPECT_CLEAN",
    "return": "ROBUSTNESS_EXPECT_RETURN",
}


class GeneratorError(Exception):
    pass


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_headers(include_dir):
    """[(return type, name, [(type, name)])] in header order."""
    functions = []
    for header in HEADERS:
        with open(os.path.join(include_dir, "galaxyml", header), encoding="utf-8") as f:
            text = strip_comments(f.read())
        text = re.sub(r"#[^\n]*", " ", text)  # the GML_API definition itself
        for m in re.finditer(r"\bGML_API\s+([^;(]*?)\b(gml_\w+)\s*\(([^)]*)\)\s*;", text):
            ret = " ".join(m.group(1).split())
            name = m.group(2)
            params = []
            body = " ".join(m.group(3).split())
            if body and body != "void":
                for p in body.split(","):
                    p = p.strip()
                    pm = re.match(r"(.*?)(\w+)$", p)
                    if not pm:
                        raise GeneratorError(f"{name}: cannot parse parameter '{p}'")
                    ptype = pm.group(1).strip().replace(" *", "*")
                    params.append((ptype, pm.group(2)))
            functions.append((ret, name, params))
    return functions


def base_of(ptype):
    return ptype.replace("const", "").replace("*", "").strip()


def family_of(function):
    for family in FAMILIES:
        if function.startswith(f"gml_{family}_"):
            return family
    return None


def is_struct(base):
    return base.startswith("gml_") and base.endswith(STRUCT_SUFFIXES)


def kind_of(function, ptype, pname):
    depth = ptype.count("*")
    base = base_of(ptype)
    const = ptype.startswith("const")
    if depth == 0:
        if ptype in CALLBACKS:
            return "callback"
        if base == "uint64_t" and pname == "seed":
            return "seed"
        if base == "size_t":
            return "size"
        if base in INTEGERS:
            if pname in IDS:
                return "id"
            if pname in FLAGS:
                return "flag"
            if pname in ENUMS:
                return "enum"
            if base in OVERFLOW and (
                pname == "n"
                or pname.startswith("n_")
                or pname
                in ("k", "levels", "repeat", "first_row", "theta_dim", "x_dim", "channels",
                    "height", "width", "chunk_rows")
            ):
                return "count"
        raise GeneratorError(f"{function}: no kind for parameter '{ptype} {pname}'")
    if depth == 1:
        if base in HANDLES:
            return "handle"
        if base == "void":
            return "user" if pname == "user" else "raw"
        if base == "char":
            return "string" if const else "text"
        if is_struct(base):
            return "struct"
        if base in OUTPUT_BUFFERS:
            return "input" if const else "output"
    if depth == 2:
        if base in HANDLES and not const:
            return "out_handle"
        if ptype == "const char* const*":
            return "string_array"
        if ptype == "const void* const*":
            return "pointer_array"
    raise GeneratorError(f"{function}: no kind for parameter '{ptype} {pname}'")


def expectation(value):
    """(C enum, C status) of an expectation word or status name."""
    if value in EXPECT_CODES:
        return EXPECT_CODES[value], "GML_OK"
    if value.startswith("GML_"):
        return "ROBUSTNESS_EXPECT_STATUS", value
    raise GeneratorError(f"unknown expectation '{value}'")


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Function:
    def __init__(self, ret, name, params):
        self.ret = ret
        self.name = name
        self.params = params
        if name not in FUNCTIONS:
            raise GeneratorError(
                f"{name} is exported but not described in FUNCTIONS of {os.path.basename(__file__)}"
            )
        self.spec = FUNCTIONS[name]
        self.family = family_of(name)
        self.is_void = ret == "void"
        self.has_status = ret == "gml_status"
        self.locals = []  # C declarations of the arguments
        self.mutations = []  # (parameter, label, C statements, expectation, flags)
        self._counters = {}
        names = {p for _, p in params}
        for key in ("args", "nullable", "minimum", "enums", "nan"):
            for p in self.spec.get(key, {}):
                if p not in names:
                    raise GeneratorError(f"{name}: {key} names unknown parameter '{p}'")

    def buffer(self, base):
        index = self._counters.get(base, 0)
        self._counters[base] = index + 1
        if index >= BUFFERS:
            raise GeneratorError(f"{self.name}: more than {BUFFERS} outputs of type {base}")
        return f"fx->{OUTPUT_BUFFERS[base]}[{index}]"

    def declare(self, ptype, pname, kind):
        given = self.spec.get("args", {}).get(pname)
        base = base_of(ptype)
        if kind == "struct":
            member = base[len("gml_"):]
            value = f"fx->{member}"
            if given is not None:
                value = given
            self.locals.append(f"{base} {pname}_value = {value};")
            self.locals.append(f"{ptype} {pname} = &{pname}_value;")
            return
        if kind == "out_handle":
            inner = ptype[: ptype.rindex("*")]
            self.locals.append(f"{inner} {pname}_handle = NULL;")
            self.locals.append(f"{ptype} {pname} = &{pname}_handle;")
            return
        if given is None:
            given = self.default_value(ptype, pname, kind, base)
        self.locals.append(f"{ptype} {pname} = {given};")

    def default_value(self, ptype, pname, kind, base):
        if kind == "handle":
            if base == "gml_model":
                if self.family is None:
                    raise GeneratorError(f"{self.name}: which model for '{pname}'?")
                return f"fx->{self.family}"
            fixture = {"gml_context": "fx->ctx", "gml_wcs": "fx->wcs", "gml_catalog": "fx->catalog"}
            return fixture.get(base) or self.missing(pname)
        if kind == "output":
            return self.buffer(base)
        if kind == "text":
            return "fx->text"
        if kind == "size":
            return "ROBUSTNESS_ELEMENTS" if pname.endswith("capacity") else self.missing(pname)
        if kind == "seed":
            return "7"
        if kind == "callback":
            return CALLBACKS[ptype]
        if kind == "user":
            return "fx"
        if kind == "string_array" and pname == "image_paths":
            return "fx->image_paths"
        return self.missing(pname)

    def missing(self, pname):
        raise GeneratorError(f"{self.name}: no baseline value for '{pname}'; add it to 'args'")

    def add(self, pname, label, code, expect, flags=0):
        key = (pname, label)
        expect = self.spec.get("expect", {}).get(key, expect)
        extra_flags = self.spec.get("flags", {}).get(key)
        if extra_flags:
            flags = f"{flags} | {extra_flags}" if flags else extra_flags
        self.mutations.append((pname, label, code, expect, flags))

    def null_expectation(self, pname):
        if self.is_void:
            return "return", 0
        allowed = self.spec.get("nullable", {}).get(pname)
        if allowed == "ok":
            return "ok", 0
        if allowed == "cancel":
            return "clean", "ROBUSTNESS_CANCEL_FIRST"
        return INVALID, 0

    def build(self):
        for ptype, pname in self.params:
            kind = kind_of(self.name, ptype, pname)
            self.declare(ptype, pname, kind)
            base = base_of(ptype)
            void = self.is_void
            if kind in ("handle", "out_handle", "string", "text", "struct", "input", "output",
                        "string_array", "pointer_array", "callback", "user"):
                expect, flags = self.null_expectation(pname)
                if kind == "user":
                    expect = "return" if void else "ok"
                self.add(pname, "NULL", f"{pname} = NULL;", expect, flags)
            if kind == "handle":
                value, label = WRONG_TYPE[base]
                self.add(pname, label, f"{pname} = ({ptype}){value};",
                         "return" if void else INVALID)
                if base == "gml_model" and self.family is not None:
                    for family in FAMILIES:
                        if family != self.family:
                            self.add(pname, f"the {family} model", f"{pname} = fx->{family};",
                                     "GML_ERR_FAMILY")
            elif kind == "string" and pname.endswith("path"):
                self.add(pname, '""', f'{pname} = "";', "fail")
            elif kind == "struct" and not self.name.endswith("_options_default"):
                self.add(pname, "struct_size 0", f"{pname}_value.struct_size = 0;", INVALID)
            elif kind == "input" and base in ("float", "double"):
                nan = "fx->nan_f32" if base == "float" else "fx->nan_f64"
                self.add(pname, "all NaN", f"{pname} = {nan};",
                         self.spec.get("nan", {}).get(pname, "clean"))
            elif kind == "string_array":
                self.add(pname, "{NULL}", f"{pname} = fx->null_image_paths;", INVALID)
            elif kind == "pointer_array":
                self.add(pname, "{NULL}", f"{pname} = fx->writer_null_data;", INVALID)
            elif kind == "size":
                # Every baseline produces output, so no room for it is
                # GML_ERR_CAPACITY; more room than needed is no error.
                self.add(pname, "0", f"{pname} = 0;", "GML_ERR_CAPACITY")
                self.add(pname, "SIZE_MAX / 2", f"{pname} = SIZE_MAX / 2;", "ok",
                         "ROBUSTNESS_OVERFLOW")
                self.add(pname, "SIZE_MAX", f"{pname} = SIZE_MAX;", "ok", "ROBUSTNESS_OVERFLOW")
            elif kind == "count":
                minimum = self.spec.get("minimum", {}).get(pname, 0)
                self.add(pname, "0", f"{pname} = 0;", INVALID if minimum > 0 else "clean")
                self.add(pname, "-1", f"{pname} = -1;", INVALID)
                top = OVERFLOW[base]
                self.add(pname, top, f"{pname} = {top};", "reject", "ROBUSTNESS_OVERFLOW")
            elif kind == "id":
                top = OVERFLOW[base]
                self.add(pname, "-1", f"{pname} = -1;", "fail")
                self.add(pname, top, f"{pname} = {top};", "fail")
            elif kind == "enum":
                values = self.spec.get("enums", {}).get(pname)
                if values is None:
                    raise GeneratorError(
                        f"{self.name}: list invalid values of '{pname}' in 'enums'")
                for value, label, expect in values:
                    self.add(pname, label, f"{pname} = {value};", expect)
        # Strings out: a NULL buffer with capacity 0 asks for the length.
        names = [p for _, p in self.params]
        if "buf" in names and "capacity" in names and "length" in names:
            self.add("buf", "NULL, capacity 0 (query)", "buf = NULL;\ncapacity = 0;", "ok")
        for pname, label, code, expect in self.spec.get("extra", []):
            self.add(pname, label, code, expect)
        return self

    def call_expression(self):
        args = ", ".join(p for _, p in self.params)
        return f"{self.name}({args})"

    def emit_function(self):
        lines = []
        signature = ", ".join(f"{t} {p}" for t, p in self.params) or "void"
        lines.extend(textwrap.wrap(f"{self.ret} {self.name}({signature})", width=94,
                                   initial_indent="/* ", subsequent_indent="   ",
                                   break_on_hyphens=False))
        lines[-1] += " */"
        lines.append(
            f"static gml_status call_{self.name}(struct robustness_fixture* fx, int mutation) {{"
        )
        lines.extend(self.locals)
        if self.mutations:
            lines.append("switch (mutation) {")
            for index, (pname, label, code, _, _) in enumerate(self.mutations, start=1):
                lines.append(f"case {index}:")
                lines.extend(code.split("\n"))
                lines.append("break;")
            lines.append("default:")
            lines.append("break;")
            lines.append("}")
        else:
            lines.append("(void)mutation;")
        lines.append("robustness_before_call(fx);")
        call = self.call_expression()
        if self.has_status:
            lines.append(f"return {call};")
        elif self.is_void:
            lines.append(f"{call};")
            lines.append("return GML_OK;")
        elif self.ret == "const char*":
            lines.append(f"return {call} != NULL ? GML_OK : ROBUSTNESS_NULL_RESULT;")
        else:
            lines.append(f"(void){call};")
            lines.append("return GML_OK;")
        lines.append("}")
        return "\n".join(lines)

    def emit_cases(self):
        rows = []
        baseline = "ROBUSTNESS_EXPECT_OK" if self.has_status else "ROBUSTNESS_EXPECT_RETURN"
        rows.append(
            f'{{"{self.name}", NULL, "valid arguments", call_{self.name}, 0, {baseline}, GML_OK, '
            f"0, 0, NULL}},"
        )
        findings = self.spec.get("findings", {})
        timeouts = self.spec.get("timeouts", {})
        for index, (pname, label, _, expect, flags) in enumerate(self.mutations, start=1):
            code, status = expectation(expect)
            finding = findings.get((pname, label))
            rows.append(
                f'{{"{self.name}", "{pname}", {c_string(label)}, call_{self.name}, {index}, '
                f"{code}, {status}, {flags or 0}, {timeouts.get((pname, label), 0)}, "
                f"{c_string(finding) if finding else 'NULL'}}},"
            )
        return rows


def generate(root):
    include_dir = os.path.join(root, "capi", "include")
    functions = [Function(*f).build() for f in parse_headers(include_dir)]
    declared = {f.name for f in functions}
    for name in FUNCTIONS:
        if name not in declared:
            raise GeneratorError(f"FUNCTIONS describes {name}, which no header declares")
    for f in functions:
        cases = {(p, l) for p, l, _, _, _ in f.mutations}
        for table in ("findings", "timeouts", "expect", "flags"):
            for key in f.spec.get(table, {}):
                if key not in cases:
                    raise GeneratorError(f"{f.name}: {table} names unknown case {key}")
    out = []
    out.append("/* Generated by tests/robustness/gen_robustness_calls.py from the public headers;")
    out.append("   do not edit: change the generator's tables and run it again. */")
    out.append("#include <stddef.h>")
    out.append("#include <stdint.h>")
    out.append("")
    out.append('#include "galaxyml/galaxyml.h"')
    out.append('#include "robustness.h"')
    out.append("")
    for f in functions:
        out.append(f.emit_function())
        out.append("")
    out.append("const struct robustness_case robustness_cases[] = {")
    for f in functions:
        out.extend(f.emit_cases())
    out.append("};")
    out.append("")
    out.append(
        "const size_t robustness_n_cases = sizeof robustness_cases / sizeof robustness_cases[0];"
    )
    return "\n".join(out) + "\n", functions


def clang_format(text, root):
    exe = shutil.which("clang-format")
    if exe is None:
        raise GeneratorError("clang-format is needed to format the generated file")
    # Formatted beside the target, so that clang-format finds the
    # repository's .clang-format.
    folder = os.path.join(root, "tests", "robustness")
    with tempfile.NamedTemporaryFile("w", suffix=".c", dir=folder, delete=False) as tmp:
        tmp.write(text)
        name = tmp.name
    try:
        subprocess.run([exe, "-i", "--style=file", name], check=True)
        with open(name, encoding="utf-8") as f:
            return f.read()
    finally:
        os.unlink(name)


def main(argv):
    check = "--check" in argv
    rest = [a for a in argv if a != "--check"]
    root = rest[0] if rest else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    root = os.path.abspath(root)
    target = os.path.join(root, "tests", "robustness", "robustness_calls.c")
    try:
        text, functions = generate(root)
        text = clang_format(text, root)
    except GeneratorError as e:
        print(f"gen_robustness_calls: {e}", file=sys.stderr)
        return 1
    n_cases = sum(1 + len(f.mutations) for f in functions)
    if check:
        with open(target, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{target} is out of date: run {os.path.basename(__file__)}", file=sys.stderr)
                return 1
        print(f"{target} is up to date ({len(functions)} functions, {n_cases} cases)")
        return 0
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {target}: {len(functions)} functions, {n_cases} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
