#include <stdio.h>
#include <string.h>

#include <galaxyml/galaxyml.h>

int main(void) {
  gml_context_options opts;
  gml_context* ctx = NULL;
  double checksum = 0.0;
  gml_context_options_default(&opts);
  opts.device = "cpu";
  if (gml_context_create(&opts, &ctx) != GML_OK) {
    fprintf(stderr, "galaxyml: %s\n", gml_last_error());
    return 1;
  }
  if (gml_context_selftest(ctx, 1, &checksum) != GML_OK) {
    fprintf(stderr, "galaxyml: %s\n", gml_last_error());
    return 1;
  }
  printf("galaxyml %s (ABI %d) ok\n", gml_version_string(), (int)gml_abi_version());
  gml_context_free(ctx);
  return gml_abi_version() == GML_ABI_VERSION ? 0 : 1;
}
