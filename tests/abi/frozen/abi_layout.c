/* Prints the offset and size of every field of the ABI 1 structs, and each
   struct's size, as the header it is compiled against lays them out. Built
   once against the frozen ABI 1 header and once against the live one;
   check_abi_layout.sh requires every field line to be equal (fields only
   grow at the end, none moves or changes size) and no struct to shrink. */
#include <stddef.h>
#include <stdio.h>

#include "galaxyml/galaxyml.h"

#define GML_FIELD(T, f)                                                  \
  printf("field %s.%s %lu %lu\n", #T, #f, (unsigned long)offsetof(T, f), \
         (unsigned long)sizeof(((T*)0)->f));
#define GML_STRUCT(T) printf("struct %s %lu\n", #T, (unsigned long)sizeof(T));

int main(void) {
#include "abi1_fields.h"
  return 0;
}
