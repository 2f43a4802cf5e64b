// gml-posterior import: simulations from HDF5, FITS, NumPy or CSV files as
// a training set for `train`.
#pragma once

int cmd_import(int argc, char** argv);
