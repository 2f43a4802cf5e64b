// gml-posterior sample: posterior draws for observations given on the
// command line or in a file.
#pragma once

int cmd_sample(int argc, char** argv);
