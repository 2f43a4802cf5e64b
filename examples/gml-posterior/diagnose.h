// gml-posterior diagnose: calibration tables and plots.
#pragma once

int cmd_diagnose(int argc, char** argv);
